"""``GlobalEntry``: one name for the serving endpoints of every region, in the home region.

In an existing hosted zone (named in the stack config):

* one region: a plain alias record to its load balancer;
* ``latency``: a latency record per region, each with a health check, so Route 53 answers
  with the closest healthy region and fails over to the next when one is down;
* ``failover``: a primary and a secondary region, with health checks;
* ``accelerator``: an AWS Global Accelerator with an endpoint group per region (its own
  health checks and failover) and an alias record to it.

Route 53's health checkers are on the internet and cannot reach private addresses, so an
internal entry (a private hosted zone, the regions' VPCs associated with it) uses health
checks that follow a CloudWatch alarm of each region's load balancer (no healthy target);
a public entry checks ``/healthz`` over HTTPS on each load balancer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.naming import TYPE_PREFIX, name_tags

Routing = Literal["latency", "failover", "accelerator"]
ACCELERATOR_ZONE_ID = "Z2BJ6XQ5FK7U4H"
"""The hosted zone of every Global Accelerator DNS name (alias records point there)."""
_RECORD = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class RegionalEndpoint:
    """One region's load balancer."""

    region: str
    """AWS region code."""
    dns_name: pulumi.Input[str]
    """The load balancer's DNS name."""
    zone_id: pulumi.Input[str]
    """The load balancer's canonical hosted zone (for alias records)."""
    load_balancer_arn: pulumi.Input[str]
    """The load balancer (an accelerator endpoint)."""
    health_alarm_name: pulumi.Input[str] | None = None
    """internal: the CloudWatch alarm (in ``region``) that fires when no target is healthy."""
    vpc_id: pulumi.Input[str] | None = None
    """internal: the region's VPC, associated with the private hosted zone."""


@dataclass(frozen=True)
class GlobalEntryArgs:
    """Arguments of :class:`GlobalEntry`."""

    record_name: str
    """The name clients use, e.g. ``llm.example.com`` (inside the hosted zone)."""
    zone_id: pulumi.Input[str]
    """The existing hosted zone the record goes in."""
    endpoints: Sequence[RegionalEndpoint]
    """Every region's endpoint (at least one)."""
    private: bool = False
    """An internal entry: the zone is private, health checks follow CloudWatch alarms."""
    routing: Routing = "latency"
    """How clients are sent to a region when there are several."""
    primary_region: str | None = None
    """failover: the region that takes traffic while healthy (the home region)."""
    health_check_path: str = "/healthz"
    """public: the path each region's health check requests."""
    health_check_port: int = 443
    """public: the port (HTTPS)."""
    listener_port: int = 443
    """accelerator: the port clients connect to."""
    accelerator_flow_logs_bucket: pulumi.Input[str] | None = None
    """accelerator: the bucket its flow logs go to (None: no flow logs)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the children that take tags."""

    def validate(self) -> None:
        found = []
        if not _RECORD.match(self.record_name):
            found.append(f"GlobalEntryArgs.record_name: {self.record_name!r} is not a DNS name such as llm.example.com")
        regions = [e.region for e in self.endpoints]
        if not regions:
            found.append("GlobalEntryArgs.endpoints: give at least one region's endpoint")
        for region in sorted({r for r in regions if regions.count(r) > 1}):
            found.append(f"GlobalEntryArgs.endpoints: {region} is listed twice")
        if self.routing not in ("latency", "failover", "accelerator"):
            found.append(f"GlobalEntryArgs.routing: must be latency, failover or accelerator (got {self.routing!r})")
        if self.routing == "failover" and len(regions) > 1:
            if len(regions) != 2:
                found.append("GlobalEntryArgs.routing: failover has one primary and one secondary: give exactly two regions, or use latency")
            if self.primary_region not in regions:
                found.append(f"GlobalEntryArgs.primary_region: {self.primary_region!r} is not one of the endpoints' regions")
        if self.routing == "accelerator" and self.private:
            found.append("GlobalEntryArgs.routing: a Global Accelerator is reachable from the internet; an internal entry uses latency or failover")
        if self.private and len(regions) > 1:
            for endpoint in self.endpoints:
                if endpoint.health_alarm_name is None:
                    found.append(f"GlobalEntryArgs.endpoints[{endpoint.region}].health_alarm_name: an internal entry's health checks follow an alarm; give it")
        if found:
            raise ValueError("invalid GlobalEntryArgs:\n  " + "\n  ".join(found))


class GlobalEntry(pulumi.ComponentResource):
    """The global name of the serving endpoints. Give it the home region's AWS provider."""

    fqdn: str
    url: str
    health_check_ids: pulumi.Output[dict[str, str]]
    accelerator_dns_name: pulumi.Output[str | None]

    def __init__(self, name: str, args: GlobalEntryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:network:GlobalEntry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.private:
            for endpoint in args.endpoints:
                if endpoint.vpc_id is not None:
                    aws.route53.ZoneAssociation(
                        f"{name}-zone-{endpoint.region}",
                        zone_id=args.zone_id,
                        vpc_id=endpoint.vpc_id,
                        vpc_region=endpoint.region,
                        opts=child,
                    )
        checks: dict[str, pulumi.Output[str]] = {}
        accelerator_dns: pulumi.Input[str | None] = None
        if len(args.endpoints) == 1:
            only = args.endpoints[0]
            self._record(name, args, only.dns_name, only.zone_id, child)
        elif args.routing == "accelerator":
            accelerator_dns = self._accelerator(name, args, child)
        else:
            checks = {e.region: self._health_check(name, args, e, child).id for e in args.endpoints}
            for endpoint in args.endpoints:
                role = "PRIMARY" if endpoint.region == args.primary_region else "SECONDARY"
                latency = [aws.route53.RecordLatencyRoutingPolicyArgs(region=endpoint.region)] if args.routing == "latency" else None
                failover = [aws.route53.RecordFailoverRoutingPolicyArgs(type=role)] if args.routing == "failover" else None
                aws.route53.Record(
                    f"{name}-{endpoint.region}",
                    zone_id=args.zone_id,
                    name=args.record_name,
                    type="A",
                    set_identifier=endpoint.region,
                    health_check_id=checks[endpoint.region],
                    latency_routing_policies=latency,
                    failover_routing_policies=failover,
                    aliases=[aws.route53.RecordAliasArgs(name=endpoint.dns_name, zone_id=endpoint.zone_id, evaluate_target_health=True)],
                    opts=child,
                )
        scheme = "http" if args.private else "https"
        self.fqdn = args.record_name
        self.url = f"{scheme}://{args.record_name}"
        self.health_check_ids = pulumi.Output.all(**checks) if checks else pulumi.Output.from_input({})
        self.accelerator_dns_name = pulumi.Output.from_input(accelerator_dns)
        self.register_outputs(
            {"fqdn": self.fqdn, "url": self.url, "healthCheckIds": self.health_check_ids, "acceleratorDnsName": self.accelerator_dns_name}
        )

    def _record(
        self, name: str, args: GlobalEntryArgs, dns_name: pulumi.Input[str], zone_id: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> aws.route53.Record:
        return aws.route53.Record(
            name,
            zone_id=args.zone_id,
            name=args.record_name,
            type="A",
            aliases=[aws.route53.RecordAliasArgs(name=dns_name, zone_id=zone_id, evaluate_target_health=True)],
            opts=opts,
        )

    def _health_check(self, name: str, args: GlobalEntryArgs, endpoint: RegionalEndpoint, opts: pulumi.ResourceOptions) -> aws.route53.HealthCheck:
        tags = name_tags(args.tags, f"{name}-{endpoint.region}")
        if args.private:
            return aws.route53.HealthCheck(
                f"{name}-{endpoint.region}",
                type="CLOUDWATCH_METRIC",
                cloudwatch_alarm_name=endpoint.health_alarm_name,
                cloudwatch_alarm_region=endpoint.region,
                insufficient_data_health_status="LastKnownStatus",
                reference_name=f"serve-{endpoint.region}"[:28],
                tags=tags,
                opts=opts,
            )
        return aws.route53.HealthCheck(
            f"{name}-{endpoint.region}",
            type="HTTPS",
            fqdn=endpoint.dns_name,
            port=args.health_check_port,
            resource_path=args.health_check_path,
            enable_sni=True,
            request_interval=30,
            failure_threshold=3,
            reference_name=f"serve-{endpoint.region}"[:28],
            tags=tags,
            opts=opts,
        )

    def _accelerator(self, name: str, args: GlobalEntryArgs, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        attributes = (
            aws.globalaccelerator.AcceleratorAttributesArgs(
                flow_logs_enabled=True, flow_logs_s3_bucket=args.accelerator_flow_logs_bucket, flow_logs_s3_prefix="global-accelerator/"
            )
            if args.accelerator_flow_logs_bucket is not None
            else None
        )
        accelerator = aws.globalaccelerator.Accelerator(
            f"{name}-accelerator",
            name=f"{args.record_name.replace('.', '-')}"[:64],
            ip_address_type="IPV4",
            enabled=True,
            attributes=attributes,
            tags=name_tags(args.tags, f"{name}-accelerator"),
            opts=opts,
        )
        listener = aws.globalaccelerator.Listener(
            f"{name}-accelerator",
            accelerator_arn=accelerator.arn,
            protocol="TCP",
            client_affinity="NONE",
            port_ranges=[aws.globalaccelerator.ListenerPortRangeArgs(from_port=args.listener_port, to_port=args.listener_port)],
            opts=opts,
        )
        for endpoint in args.endpoints:
            aws.globalaccelerator.EndpointGroup(
                f"{name}-accelerator-{endpoint.region}",
                listener_arn=listener.arn,
                endpoint_group_region=endpoint.region,
                health_check_protocol="HTTPS",
                health_check_port=args.health_check_port,
                health_check_path=args.health_check_path,
                endpoint_configurations=[
                    aws.globalaccelerator.EndpointGroupEndpointConfigurationArgs(
                        endpoint_id=endpoint.load_balancer_arn, weight=100, client_ip_preservation_enabled=True
                    )
                ],
                opts=opts,
            )
        self._record(name, args, accelerator.dns_name, ACCELERATOR_ZONE_ID, opts)
        return accelerator.dns_name
