"""The pricing rules, one function per resource type, grouped by family: :mod:`.compute`,
:mod:`.network`, :mod:`.data`, :mod:`.operations` and :mod:`.workloads`. :data:`RULES` maps each priced type
to its rule; a type with no rule is free (:mod:`llmops.cost.model.free`) or unpriced."""

from __future__ import annotations

from core.gpu_pool import NODE_GROUP_TYPE, NODE_POOL_TYPES
from llmops.cost.model.rules import compute, data, network, operations, workloads
from llmops.cost.model.rules.base import Context, Priced, Rule, Unpriced

RULES: dict[str, Rule] = {
    "aws:eks/cluster:Cluster": compute.price_eks,
    NODE_GROUP_TYPE: compute.price_nodegroup,
    "aws:ec2/instance:Instance": compute.price_instance,
    **{t: compute.price_nodepool for t in NODE_POOL_TYPES},
    "aws:ec2/natGateway:NatGateway": network.price_nat,
    "aws:ec2/eip:Eip": network.price_eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": network.price_vpc_endpoint,
    "aws:lb/loadBalancer:LoadBalancer": network.price_load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": network.price_load_balancer,
    "aws:route53/healthCheck:HealthCheck": network.price_health_check,
    "aws:route53/zone:Zone": network.price_zone,
    "aws:globalaccelerator/accelerator:Accelerator": network.price_accelerator,
    "aws:wafv2/webAcl:WebAcl": network.price_web_acl,
    "kubernetes:core/v1:Service": network.price_k8s_service,
    "aws:rds/cluster:Cluster": data.price_rds_cluster,
    "aws:rds/clusterInstance:ClusterInstance": data.price_rds_instance,
    "aws:elasticache/serverlessCache:ServerlessCache": data.price_serverless_cache,
    "aws:elasticache/replicationGroup:ReplicationGroup": data.price_replication_group,
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": data.price_application_stack,
    "aws:opensearch/serverlessCollection:ServerlessCollection": data.price_search_collection,
    "aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint": network.price_search_vpc_endpoint,
    "aws:s3/bucket:Bucket": data.price_bucket,
    "aws:s3/bucketV2:BucketV2": data.price_bucket,
    "aws:cloudwatch/logGroup:LogGroup": operations.price_log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": operations.price_alarm,
    "aws:kms/key:Key": operations.price_kms,
    "aws:secretsmanager/secret:Secret": operations.price_secret,
    "aws:sqs/queue:Queue": operations.price_queue,
    "aws:sns/topic:Topic": operations.price_topic,
    "aws:ecr/repository:Repository": operations.price_repository,
    "aws:cloudwatch/dashboard:Dashboard": operations.price_dashboard,
    "aws:budgets/budgetAction:BudgetAction": operations.price_budget_action,
    "aws:amp/workspace:Workspace": operations.price_amp_workspace,
    "aws:amp/scraper:Scraper": operations.price_amp_scraper,
    "aws:autoscaling/group:Group": workloads.price_autoscaling_group,
    "aws:ecs/service:Service": workloads.price_ecs_service,
    "aws:kinesis/stream:Stream": workloads.price_kinesis_stream,
    "aws:lambda/function:Function": workloads.price_lambda_function,
    "aws:rds/instance:Instance": workloads.price_db_instance,
    "aws:redshift/cluster:Cluster": workloads.price_redshift_cluster,
    "aws:cloudfront/distribution:Distribution": workloads.price_cloudfront_distribution,
}

__all__ = ["RULES", "Context", "Priced", "Rule", "Unpriced"]
