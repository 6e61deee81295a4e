"""The load balancer in front of the Serve service, as Pulumi resources (so cost, policies,
alarms and DNS see it): an internal Network Load Balancer (TCP) by default, or an
internet-facing Application Load Balancer with an ACM certificate, HTTPS only (HTTP
redirects) and a WAF web ACL. Either way: IP targets bound to the Serve service by the AWS
Load Balancer Controller (a ``TargetGroupBinding``), a security group of its own that
reaches only the Serve port of the cluster's nodes, access logs to a bucket of its own, and
an alarm that fires when no target is healthy (the global entry's health check for an
internal endpoint).

Access logs: an ALB logs every request, into a bucket encrypted with SSE-S3 (the only
encryption ALB log delivery supports); an NLB logs TLS listeners only, so the internal
NLB's TCP listener writes none (the VPC's flow logs record its connections), and its bucket
uses a KMS key that log delivery may use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.data.common import account_of, bucket_controls, kms_key
from components.iam import deny_without_tls
from components.naming import name_tags
from components.serving_plane.args import ExposureArgs
from components.serving_plane.manifests import SERVE_PORT

HEALTH_PATH = "/-/healthz"
"""Ray Serve's proxy health endpoint: 200 while the node's proxy serves."""
LOG_PREFIX = "load-balancer"

ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-south-1": "718504428378",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-south-1": "635631232127",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}
"""The Elastic Load Balancing account that delivers ALB access logs in regions older than
August 2022 (AWS docs, "Enable access logs for your Application Load Balancer"); newer
regions deliver as the service principal ``logdelivery.elasticloadbalancing.amazonaws.com``."""

WAF_MANAGED_RULES = (
    ("AWSManagedRulesAmazonIpReputationList", ()),
    ("AWSManagedRulesKnownBadInputsRuleSet", ()),
    # Chat requests with long contexts are larger than the common rule set's 8 KB body limit:
    # that one rule only counts.
    ("AWSManagedRulesCommonRuleSet", ("SizeRestrictions_BODY",)),
)
"""AWS managed rule groups of the web ACL, with the rules that only count."""


PRIVATE_PATHS = ("/metrics", "/metrics/*")
"""Paths of the Serve API a public load balancer never forwards (the cluster scrapes them)."""


def log_bucket_policy(bucket_arn: str, region: str, account: str) -> str:
    """TLS only; ALB and NLB access log delivery under ``load-balancer/AWSLogs/<account>/``."""
    objects = f"{bucket_arn}/{LOG_PREFIX}/AWSLogs/{account}/*"
    elb_account = ELB_LOG_ACCOUNTS.get(region)
    alb_principal = {"AWS": f"arn:aws:iam::{elb_account}:root"} if elb_account else {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    statements = [
        deny_without_tls("s3:*", [bucket_arn, f"{bucket_arn}/*"]),
        {"Sid": "ApplicationLoadBalancerLogs", "Effect": "Allow", "Principal": alb_principal, "Action": "s3:PutObject", "Resource": objects},
        {
            "Sid": "NetworkLoadBalancerLogs",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceAccount": account}},
        },
        {
            "Sid": "NetworkLoadBalancerLogsAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def log_delivery_key_statement(account: str) -> dict[str, Any]:
    """Lets log delivery (NLB access logs) encrypt with the log bucket's key, for this account."""
    return {
        "Sid": "LogDeliveryEncrypts",
        "Effect": "Allow",
        "Principal": {"Service": "delivery.logs.amazonaws.com"},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
    }


def web_acl_rules(rate_limit: int, metric_prefix: str) -> list[aws.wafv2.WebAclRuleArgs]:
    """The AWS managed rule groups, then a rate limit per client IP."""

    def visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
        return aws.wafv2.WebAclRuleVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name=f"{metric_prefix}-{metric}", sampled_requests_enabled=True
        )

    rules = [
        aws.wafv2.WebAclRuleArgs(
            name=group,
            priority=index,
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),  # type: ignore[no-untyped-call]
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                    name=group,
                    vendor_name="AWS",
                    rule_action_overrides=[
                        aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
                            name=rule,
                            action_to_use=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                                count=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()
                            ),
                        )
                        for rule in counted
                    ]
                    or None,
                )
            ),
            visibility_config=visibility(group),
        )
        for index, (group, counted) in enumerate(WAF_MANAGED_RULES)
    ]
    rules.append(
        aws.wafv2.WebAclRuleArgs(
            name="rate-limit-per-ip",
            priority=len(WAF_MANAGED_RULES),
            action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(limit=rate_limit, aggregate_key_type="IP")
            ),
            visibility_config=visibility("rate-limit"),
        )
    )
    return rules


@dataclass(frozen=True)
class Exposure:
    """What :func:`expose` made."""

    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    security_group: aws.ec2.SecurityGroup
    log_bucket: aws.s3.Bucket
    health_alarm: aws.cloudwatch.MetricAlarm
    url: pulumi.Output[str]
    certificate_arn: pulumi.Output[str] | None
    web_acl_arn: pulumi.Output[str] | None


def _log_bucket(name: str, args: ExposureArgs, region: str, parent: pulumi.Resource, tags: dict[str, str]) -> tuple[aws.s3.Bucket, list[pulumi.Resource]]:
    """The access-log bucket: the platform's bucket controls, SSE-S3 for an ALB (the only
    encryption its log delivery takes), else a key of its own that log delivery may use."""
    child = pulumi.ResourceOptions(parent=parent)
    logs = f"{name}-lb-logs"
    bucket = aws.s3.Bucket(
        logs,
        bucket_prefix=f"{args.load_balancer_name[:24].lower()}-logs-",
        force_destroy=args.force_destroy_logs,
        tags=name_tags(tags, logs),
        opts=child,
    )
    account = account_of(parent)
    if args.scheme == "internet-facing":
        encryption = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(sse_algorithm="AES256")
    else:
        key = kms_key(
            logs,
            description=f"Access logs of {args.load_balancer_name}",
            alias=f"{args.load_balancer_name}-lb-logs",
            account=account,
            tags=tags,
            opts=child,
            extra_statements=account.id.apply(lambda a: [log_delivery_key_statement(a)]),
        )
        encryption = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms", kms_master_key_id=key.arn
        )
    controls = bucket_controls(
        logs,
        bucket,
        encryption=encryption,
        policy=pulumi.Output.all(bucket.arn, account.id).apply(lambda v: log_bucket_policy(v[0], region, v[1])),
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.access_log_days),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(noncurrent_days=1),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=1
                ),
            )
        ],
        parent=parent,
    )
    # Enabling access logs checks that delivery may write: the bucket policy comes first.
    return bucket, [controls.policy]


def _certificate(name: str, args: ExposureArgs, parent: pulumi.Resource, tags: dict[str, str]) -> pulumi.Output[str]:
    assert args.certificate is not None
    cert = aws.acm.Certificate(
        f"{name}-certificate",
        domain_name=args.certificate.domain_name,
        validation_method="DNS",
        key_algorithm="EC_prime256v1",
        tags=name_tags(tags, f"{name}-certificate"),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    option = cert.domain_validation_options[0]
    # Every region's certificate for the same name asks for the same record: overwrite it.
    record = aws.route53.Record(
        f"{name}-certificate-validation",
        zone_id=args.certificate.zone_id,
        name=option.resource_record_name,
        type=option.resource_record_type,
        records=[option.resource_record_value],
        ttl=300,
        allow_overwrite=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    validation = aws.acm.CertificateValidation(
        f"{name}-certificate",
        certificate_arn=cert.arn,
        validation_record_fqdns=[record.fqdn],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return validation.certificate_arn


def expose(name: str, args: ExposureArgs, region: str, parent: pulumi.Resource, tags: dict[str, str]) -> Exposure:
    """The load balancer, its target group, listener(s), security groups, logs and alarm."""
    child = pulumi.ResourceOptions(parent=parent)
    public = args.scheme == "internet-facing"
    bucket, bucket_ready = _log_bucket(name, args, region, parent, tags)

    group = aws.ec2.SecurityGroup(
        f"{name}-lb",
        vpc_id=args.vpc_id,
        description=f"Load balancer of the Serve service {args.load_balancer_name}",
        tags=name_tags(tags, f"{name}-lb"),
        opts=child,
    )
    ports = (443, 80) if public else (args.listener_port,)
    sources = ("0.0.0.0/0",) if public else tuple(args.client_cidrs)
    for port in ports:
        for cidr in sources:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-lb-in-{port}-{cidr.replace('/', '-').replace('.', '-')}",
                security_group_id=group.id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"clients on port {port}",
                opts=child,
            )
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-lb-to-serve",
        security_group_id=group.id,
        referenced_security_group_id=args.node_security_group_id,
        ip_protocol="tcp",
        from_port=SERVE_PORT,
        to_port=SERVE_PORT,
        description="to the Serve port of the cluster's pods",
        opts=child,
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-serve-from-lb",
        security_group_id=args.node_security_group_id,
        referenced_security_group_id=group.id,
        ip_protocol="tcp",
        from_port=SERVE_PORT,
        to_port=SERVE_PORT,
        description=f"Serve traffic and health checks from {args.load_balancer_name}",
        opts=child,
    )

    common: dict[str, Any] = {
        "name": args.load_balancer_name,
        "internal": not public,
        "subnets": args.subnet_ids,
        "security_groups": [group.id],
        "enable_deletion_protection": args.deletion_protection,
        "access_logs": aws.lb.LoadBalancerAccessLogsArgs(bucket=bucket.id, prefix=LOG_PREFIX, enabled=True),
        "tags": name_tags(tags, f"{name}-lb"),
    }
    if public:
        balancer = aws.lb.LoadBalancer(
            f"{name}-lb",
            load_balancer_type="application",
            drop_invalid_header_fields=True,
            desync_mitigation_mode="defensive",
            idle_timeout=args.idle_timeout_seconds,
            **common,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=bucket_ready),
        )
    else:
        balancer = aws.lb.LoadBalancer(
            f"{name}-lb",
            load_balancer_type="network",
            enable_cross_zone_load_balancing=True,
            **common,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=bucket_ready),
        )
    health = aws.lb.TargetGroupHealthCheckArgs(
        enabled=True,
        protocol="HTTP",
        path=HEALTH_PATH,
        port="traffic-port",
        matcher="200",
        interval=10,
        healthy_threshold=2,
        unhealthy_threshold=3,
    )
    target_group = aws.lb.TargetGroup(
        f"{name}-serve",
        name=args.load_balancer_name,
        target_type="ip",
        protocol="HTTP" if public else "TCP",
        port=SERVE_PORT,
        vpc_id=args.vpc_id,
        deregistration_delay=30,
        health_check=health,
        tags=name_tags(tags, f"{name}-serve"),
        opts=child,
    )
    forward = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)]
    certificate_arn = None
    web_acl_arn = None
    if public:
        certificate_arn = _certificate(name, args, parent, tags)
        https = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=args.ssl_policy,
            certificate_arn=certificate_arn,
            default_actions=forward,
            tags=name_tags(tags, f"{name}-https"),
            opts=child,
        )
        # The Serve API's /metrics (counters per team and model) is for the cluster's
        # scrapers, which reach the pods directly; through the public listener it is a 404.
        aws.lb.ListenerRule(
            f"{name}-no-metrics",
            listener_arn=https.arn,
            priority=1,
            conditions=[
                aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(PRIVATE_PATHS))
                )
            ],
            actions=[
                aws.lb.ListenerRuleActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerRuleActionFixedResponseArgs(
                        content_type="text/plain", status_code="404", message_body="not found"
                    ),
                )
            ],
            tags=name_tags(tags, f"{name}-no-metrics"),
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-http-redirect",
            load_balancer_arn=balancer.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(protocol="HTTPS", port="443", status_code="HTTP_301"),
                )
            ],
            tags=name_tags(tags, f"{name}-http-redirect"),
            opts=child,
        )
        if args.waf:
            acl = aws.wafv2.WebAcl(
                f"{name}-waf",
                scope="REGIONAL",
                description=f"Managed rules and a per-IP rate limit in front of {args.load_balancer_name}",
                default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
                rules=web_acl_rules(args.waf_rate_limit, args.load_balancer_name),
                visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                    cloudwatch_metrics_enabled=True, metric_name=args.load_balancer_name, sampled_requests_enabled=True
                ),
                tags=name_tags(tags, f"{name}-waf"),
                opts=child,
            )
            aws.wafv2.WebAclAssociation(f"{name}-waf", resource_arn=balancer.arn, web_acl_arn=acl.arn, opts=child)
            web_acl_arn = acl.arn
        url = pulumi.Output.from_input(f"https://{args.certificate.domain_name}" if args.certificate else "")
    else:
        aws.lb.Listener(
            f"{name}-tcp",
            load_balancer_arn=balancer.arn,
            port=args.listener_port,
            protocol="TCP",
            default_actions=forward,
            tags=name_tags(tags, f"{name}-tcp"),
            opts=child,
        )
        url = balancer.dns_name.apply(lambda host: f"http://{host}")

    namespace = "AWS/ApplicationELB" if public else "AWS/NetworkELB"
    alarm = aws.cloudwatch.MetricAlarm(
        f"{name}-no-healthy-targets",
        name=f"{args.load_balancer_name}-no-healthy-targets",
        alarm_description=f"No healthy Serve target behind {args.load_balancer_name}: the region serves nothing",
        namespace=namespace,
        metric_name="HealthyHostCount",
        dimensions={"LoadBalancer": balancer.arn_suffix, "TargetGroup": target_group.arn_suffix},
        statistic="Minimum",
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=3,
        threshold=1,
        comparison_operator="LessThanThreshold",
        treat_missing_data="breaching",
        tags=name_tags(tags, f"{name}-no-healthy-targets"),
        opts=child,
    )
    return Exposure(balancer, target_group, group, bucket, alarm, url, certificate_arn, web_acl_arn)
