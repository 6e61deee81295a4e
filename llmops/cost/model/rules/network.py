"""Networking: NAT gateways, public IPv4 addresses, VPC endpoints, load balancers (also the
ones a Kubernetes Service of type LoadBalancer makes), Route 53 and Global Accelerator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmops.cost.model.rules.base import (
    Context,
    Priced,
    Unpriced,
    hourly_line,
    monthly_line,
    number,
    region_of,
    usage_line,
)
from llmops.cost.model.types import CostInput, CostLine


def price_nat(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    gb = ctx.usage.nat_data_gb_per_month
    return Priced(
        [
            hourly_line(ctx, "NAT gateway hours", "nat.hour", region),
            usage_line(ctx, "NAT data processed", "nat.data", region, gb),
        ],
        [f"{gb:g} GB/month processed (usage natDataGbPerMonth)"],
    )


def price_eip(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    return Priced(
        [hourly_line(ctx, "public IPv4 address", "ipv4.hour", region)],
        ["one public IPv4 address, charged whether attached or idle"],
    )


def _interface_endpoint(ctx: Context, region: str, subnets: Any, what: str) -> Priced:
    """An AWS PrivateLink interface endpoint: one network interface (billed per hour) in each
    of its subnets, and the data it processes."""
    subnet_ids = subnets if isinstance(subnets, list) else []
    azs = float(len(subnet_ids)) if subnet_ids else 1.0
    gb = ctx.usage.endpoint_data_gb_per_month
    assumptions = [f"{gb:g} GB/month processed (usage endpointDataGbPerMonth)"]
    assumptions.append(
        f"{azs:g} AZ(s) = one per subnet id" if subnet_ids else "no subnetIds recorded: one AZ assumed"
    )
    return Priced(
        [
            hourly_line(ctx, f"{what} ({azs:g} AZ)", "vpce.interface.hour", region, azs),
            usage_line(ctx, "endpoint data processed", "vpce.interface.data", region, gb),
        ],
        assumptions,
    )


def price_vpc_endpoint(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    kind = str(inputs.get("vpcEndpointType") or "Gateway")
    if kind == "Gateway":
        return Priced([], ["gateway endpoint (S3/DynamoDB): no hourly or data charge"])
    if kind != "Interface":
        raise Unpriced(f"{kind} endpoints are not in the price catalogue")
    return _interface_endpoint(ctx, region, inputs.get("subnetIds"), "interface endpoint")


def price_search_vpc_endpoint(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    """An OpenSearch Serverless VPC endpoint is an interface endpoint that OpenSearch
    Serverless manages, billed at PrivateLink rates."""
    priced = _interface_endpoint(ctx, region_of(item), inputs.get("subnetIds"), "OpenSearch Serverless VPC endpoint")
    priced.assumptions.insert(0, "billed as an AWS PrivateLink interface endpoint")
    return priced


def _lb_lines(ctx: Context, kind: str, region: str) -> Priced:
    if kind not in ("application", "network", "gateway", "classic"):
        raise Unpriced(f"load balancer type '{kind}' is not in the price catalogue")
    lines = [hourly_line(ctx, f"{kind} load balancer hours", f"elb.{kind}.hour", region)]
    assumptions = []
    if kind != "classic":
        lcus = ctx.usage.load_balancer_lcus
        price, unit = ctx.service(f"elb.{kind}.lcu", region)
        lines.append(CostLine("capacity units", unit, price, 0.0, lcus * ctx.hours))
        assumptions.append(f"{lcus:g} capacity unit(s) on average (usage loadBalancerLcus)")
    return Priced(lines, assumptions)


def price_load_balancer(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    return _lb_lines(ctx, str(inputs.get("loadBalancerType") or "application"), region_of(item))


def price_k8s_service(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    spec = inputs.get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return Priced([], [])
    annotations = (inputs.get("metadata") or {}).get("annotations") or {}
    lb_type = str(annotations.get("service.beta.kubernetes.io/aws-load-balancer-type") or "")
    kind = "network" if lb_type in ("nlb", "nlb-ip", "external") or spec.get("loadBalancerClass") == "service.k8s.aws/nlb" else "classic"
    priced = _lb_lines(ctx, kind, region_of(item))
    priced.assumptions.insert(0, f"Service of type LoadBalancer: AWS provisions a {kind} load balancer")
    return priced


def price_health_check(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    kind = str(inputs.get("type") or "HTTP").upper()
    features = []
    if kind.startswith("HTTPS"):
        features.append("HTTPS")
    if kind.endswith("STR_MATCH"):
        features.append("string matching")
    if int(number(inputs.get("requestInterval"), 30)) == 10:
        features.append("fast interval")
    if inputs.get("measureLatency"):
        features.append("latency measurement")
    lines = [monthly_line(ctx, "health check", "route53.healthcheck.aws", region)]
    if features:
        lines.append(
            monthly_line(ctx, f"optional features: {', '.join(features)}", "route53.healthcheck.feature", region, len(features))
        )
    return Priced(lines, ["AWS endpoint rates (a load balancer or accelerator endpoint)"])


def price_zone(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = item.region or "us-east-1"
    return Priced([monthly_line(ctx, "hosted zone", "route53.zone", region)], ["queries not included"])


def price_accelerator(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = item.region or "us-east-1"
    gb = ctx.usage.accelerator_data_gb_per_month
    return Priced(
        [
            hourly_line(ctx, "accelerator fixed fee", "globalaccelerator.hour", region),
            usage_line(ctx, "data transfer premium", "globalaccelerator.data", region, gb),
        ],
        [f"{gb:g} GB/month in the dominant direction (usage acceleratorDataGbPerMonth)"],
    )


def price_web_acl(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = item.region or "us-east-1"
    rules = inputs.get("rules") or []
    count = len(rules) if isinstance(rules, list) else 0
    millions = ctx.usage.waf_requests_millions_per_month
    lines = [monthly_line(ctx, "web ACL", "waf.webacl", region)]
    if count:
        lines.append(monthly_line(ctx, f"{count} rule(s) and managed rule groups", "waf.rule", region, count))
    lines.append(usage_line(ctx, "requests inspected", "waf.requests", region, millions))
    return Priced(lines, [f"{millions:g} million requests/month (usage wafRequestsMillionsPerMonth)", "managed rule groups priced as one rule each"])
