"""A REST API (API Gateway v1) in front of a Lambda function, the shape of the public
aws-py-apigateway-lambda examples."""

import json

import pulumi
import pulumi_aws as aws

role = aws.iam.Role(
    "handler-role",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
    ),
)
aws.iam.RolePolicyAttachment(
    "handler-logs",
    role=role.name,
    policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
)
handler = aws.lambda_.Function(
    "handler",
    runtime="python3.12",
    handler="app.handler",
    role=role.arn,
    code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n")}),
    timeout=10,
)

api = aws.apigateway.RestApi("api", description="Greeting API")
resource = aws.apigateway.Resource("greeting", rest_api=api.id, parent_id=api.root_resource_id, path_part="{proxy+}")
method = aws.apigateway.Method("any", rest_api=api.id, resource_id=resource.id, http_method="ANY", authorization="NONE")
integration = aws.apigateway.Integration(
    "lambda",
    rest_api=api.id,
    resource_id=resource.id,
    http_method=method.http_method,
    integration_http_method="POST",
    type="AWS_PROXY",
    uri=handler.invoke_arn,
)
deployment = aws.apigateway.Deployment(
    "deployment", rest_api=api.id, opts=pulumi.ResourceOptions(depends_on=[integration])
)
stage = aws.apigateway.Stage("prod", rest_api=api.id, deployment=deployment.id, stage_name="prod")
aws.lambda_.Permission(
    "apigw-invoke",
    action="lambda:InvokeFunction",
    function=handler.name,
    principal="apigateway.amazonaws.com",
    source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
)

pulumi.export("url", stage.invoke_url)
pulumi.export("restApiId", api.id)
pulumi.export("rootResourceId", api.root_resource_id)
pulumi.export("executionArn", stage.execution_arn)
pulumi.export("functionArn", handler.arn)
pulumi.export("invokeArn", handler.invoke_arn)
pulumi.export("functionName", handler.name)
pulumi.export("roleArn", role.arn)
pulumi.export("preview", pulumi.runtime.is_dry_run())
