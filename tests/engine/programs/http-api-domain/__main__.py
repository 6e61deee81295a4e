"""An HTTP API (API Gateway v2) with a Lambda integration on a custom domain: ACM
certificate, API domain name and mapping, and a Route 53 alias to the API's regional
endpoint."""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
domain = config.require("domain")

zone = aws.route53.get_zone(name=config.require("zone"))
role = aws.iam.Role(
    "fn-role",
    assume_role_policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    ),
)
fn = aws.lambda_.Function(
    "fn",
    runtime="nodejs20.x",
    handler="index.handler",
    role=role.arn,
    code=pulumi.AssetArchive({"index.js": pulumi.StringAsset("exports.handler = async () => ({statusCode: 200});")}),
)
api = aws.apigatewayv2.Api("http", protocol_type="HTTP")
integration = aws.apigatewayv2.Integration(
    "fn", api_id=api.id, integration_type="AWS_PROXY", integration_uri=fn.invoke_arn, payload_format_version="2.0"
)
route = aws.apigatewayv2.Route("default", api_id=api.id, route_key="$default", target=integration.id.apply(lambda i: f"integrations/{i}"))
stage = aws.apigatewayv2.Stage("default", api_id=api.id, name="$default", auto_deploy=True)
aws.lambda_.Permission(
    "invoke", action="lambda:InvokeFunction", function=fn.name, principal="apigateway.amazonaws.com",
    source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
)

cert = aws.acm.Certificate("cert", domain_name=domain, validation_method="DNS")
validation = aws.route53.Record(
    "cert-validation",
    zone_id=zone.zone_id,
    name=cert.domain_validation_options[0].resource_record_name,
    type=cert.domain_validation_options[0].resource_record_type,
    records=[cert.domain_validation_options[0].resource_record_value],
    ttl=60,
)
validated = aws.acm.CertificateValidation("cert", certificate_arn=cert.arn, validation_record_fqdns=[validation.fqdn])
api_domain = aws.apigatewayv2.DomainName(
    "api",
    domain_name=domain,
    domain_name_configuration={"certificate_arn": validated.certificate_arn, "endpoint_type": "REGIONAL", "security_policy": "TLS_1_2"},
)
aws.apigatewayv2.ApiMapping("api", api_id=api.id, domain_name=api_domain.id, stage=stage.id)
alias = aws.route53.Record(
    "api",
    zone_id=zone.zone_id,
    name=domain,
    type="A",
    aliases=[
        {
            "name": api_domain.domain_name_configuration.target_domain_name,
            "zone_id": api_domain.domain_name_configuration.hosted_zone_id,
            "evaluate_target_health": False,
        }
    ],
)

pulumi.export("apiEndpoint", api.api_endpoint)
pulumi.export("stageUrl", stage.invoke_url)
pulumi.export("executionArn", api.execution_arn)
pulumi.export("targetDomainName", api_domain.domain_name_configuration.target_domain_name)
pulumi.export("targetZoneId", api_domain.domain_name_configuration.hosted_zone_id)
pulumi.export("zoneId", zone.zone_id)
pulumi.export("recordFqdn", alias.fqdn)
pulumi.export("validationRecord", validation.name)
