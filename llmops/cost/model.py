"""The cost model: planned resources in, monthly cost per resource out.

Every resource gets one :class:`CostItem` with two figures:

``min``
    What the resource costs with no traffic and no stored data, everything scaled to its
    floor: GPU pools at their minimum node count (zero when they scale to zero), Aurora at
    ``minCapacity``, ElastiCache at its engine's minimum, fixed hourly and monthly fees.
``expected``
    ``min`` plus the usage assumptions of the stack's ``llmops:usage`` section: GPU pools
    above their minimum for ``gpuUtilization`` of the time at ``maxNodes``, NAT and endpoint
    data, log ingestion, stored data, requests.

Each figure is the sum of the item's :class:`CostLine` s (quantity x unit price), and the
item lists the assumptions used in words, so no usage-based part is ever a silent $0.
Resources that cost nothing (VPC, subnets, IAM, providers, components, Kubernetes objects
other than Karpenter NodePools) are ``free`` with the reason; resource types the model
has no rule for are ``unpriced``, listed, never dropped.

The entry point is pure (:func:`estimate` over :class:`CostInput` s) so the policy packs
can call it with analyzer resources; :func:`estimate_plan` adapts an offline plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from core import catalog
from core.catalog.prices import (
    MissingPriceError,
    PriceCatalogue,
    PriceLookupError,
    check_instance_type,
    load_prices,
)
from stacks.config import UsageConfig

if TYPE_CHECKING:
    from llmops.engine.runner import PlanResult

Status = Literal["priced", "free", "unpriced"]

NODEPOOL_TYPES = frozenset({"kubernetes:karpenter.sh/v1:NodePool", "kubernetes:karpenter.sh/v1beta1:NodePool"})
NODECLASS_TYPES = frozenset(
    {"kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "kubernetes:karpenter.k8s.aws/v1beta1:EC2NodeClass"}
)
MIN_NODES_ANNOTATION = "llmops.io/min-nodes"
MAX_NODES_ANNOTATION = "llmops.io/max-nodes"
POOL_ANNOTATION = "llmops.io/gpu-pool"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"

# Defaults the AWS APIs apply when an argument is left out (documented API behaviour).
EKS_NODEGROUP_DEFAULT_INSTANCE_TYPE = "t3.medium"  # CreateNodegroup: instanceTypes default
EKS_NODEGROUP_DEFAULT_DISK_GB = 20  # CreateNodegroup: diskSize default for Linux AMIs
EC2_DEFAULT_ROOT_VOLUME_GB = 8  # typical root volume of Amazon Linux AMIs
ELASTICACHE_MIN_DATA_GB = {"valkey": 0.1, "redis": 1.0, "memcached": 1.0}  # serverless minimum metered data
OPENSEARCH_MIN_OCUS = {"ENABLED": 2.0, "DISABLED": 1.0}  # per account/KMS key: with / without standby replicas
DAYS_PER_MONTH = 30.4  # 365 / 12, converts log retention to stored months
NEVER_EXPIRE_MONTHS = 12  # stored months assumed for log groups that never expire (one year of history)


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True, slots=True)
class CostInput:
    """One resource to price, in plain values (from a plan record or a policy analyzer)."""

    urn: str
    type: str
    region: str | None
    inputs: Mapping[str, Any]
    """Plain inputs (secret wrappers removed)."""
    component: str | None = None
    """Component the resource belongs to (for grouping), e.g. ``Network``."""
    name: str | None = None
    """Logical name; defaults to the URN's last segment."""
    custom: bool = True
    """False for component resources (always free)."""
    id: str | None = None
    """Physical id when known (links Aurora instances to their cluster)."""


@dataclass(frozen=True, slots=True)
class CostLine:
    """One priced dimension of a resource: quantity x unit price, at minimum and expected."""

    description: str
    unit: str
    unit_price: float
    min_quantity: float
    expected_quantity: float

    @property
    def min(self) -> float:
        return self.min_quantity * self.unit_price

    @property
    def expected(self) -> float:
        return self.expected_quantity * self.unit_price

    def to_document(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "unit": self.unit,
            "unitPrice": self.unit_price,
            "minQuantity": _round(self.min_quantity, 4),
            "expectedQuantity": _round(self.expected_quantity, 4),
            "min": _round(self.min),
            "expected": _round(self.expected),
        }


@dataclass(frozen=True, slots=True)
class CostItem:
    """The monthly cost of one resource."""

    urn: str
    type: str
    name: str
    region: str | None
    component: str
    status: Status
    lines: tuple[CostLine, ...] = ()
    assumptions: tuple[str, ...] = ()
    reason: str | None = None
    """Why a resource is free or unpriced."""

    @property
    def min(self) -> float | None:
        """Monthly cost at the floor; ``None`` when unpriced."""
        if self.status == "unpriced":
            return None
        return sum(line.min for line in self.lines)

    @property
    def expected(self) -> float | None:
        """Monthly cost with the usage assumptions; ``None`` when unpriced."""
        if self.status == "unpriced":
            return None
        return sum(line.expected for line in self.lines)

    @property
    def unpriced(self) -> bool:
        return self.status == "unpriced"

    def to_document(self) -> dict[str, Any]:
        low, high = self.min, self.expected
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "region": self.region,
            "component": self.component,
            "min": None if low is None else _round(low),
            "expected": None if high is None else _round(high),
            "unpriced": self.unpriced,
            "free": self.status == "free",
            "reason": self.reason,
            "assumptions": list(self.assumptions),
            "lines": [line.to_document() for line in self.lines],
        }


@dataclass(frozen=True, slots=True)
class Totals:
    """A minimum and an expected monthly figure."""

    min: float
    expected: float

    def to_document(self) -> dict[str, float]:
        return {"min": _round(self.min), "expected": _round(self.expected)}


@dataclass
class CostEstimate:
    """The monthly estimate of a set of resources."""

    items: list[CostItem]
    usage: UsageConfig
    usage_source: str
    catalogue: PriceCatalogue
    stack: str | None = None
    project: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.catalogue.currency

    @property
    def total(self) -> Totals:
        return Totals(
            sum(i.min or 0.0 for i in self.items),
            sum(i.expected or 0.0 for i in self.items),
        )

    @property
    def unpriced(self) -> list[CostItem]:
        return [i for i in self.items if i.unpriced]

    def by_region(self) -> dict[str, Totals]:
        """Totals per region (``global`` for resources without one)."""
        sums: dict[str, list[float]] = {}
        for item in self.items:
            if item.status == "free":
                continue
            bucket = sums.setdefault(item.region or "global", [0.0, 0.0])
            bucket[0] += item.min or 0.0
            bucket[1] += item.expected or 0.0
        return {k: Totals(*v) for k, v in sorted(sums.items())}

    def by_region_component(self) -> dict[tuple[str, str], Totals]:
        """Totals per (region, component)."""
        sums: dict[tuple[str, str], list[float]] = {}
        for item in self.items:
            bucket = sums.setdefault((item.region or "global", item.component), [0.0, 0.0])
            bucket[0] += item.min or 0.0
            bucket[1] += item.expected or 0.0
        return {k: Totals(*v) for k, v in sorted(sums.items())}

    def top_drivers(self, count: int = 5) -> list[CostItem]:
        """The priced items with the highest expected cost (ties broken by URN)."""
        priced = [i for i in self.items if i.status == "priced" and (i.expected or 0) > 0]
        return sorted(priced, key=lambda i: (-(i.expected or 0.0), i.urn))[:count]

    def usage_document(self) -> dict[str, Any]:
        return self.usage.model_dump(by_alias=True)

    def to_document(self) -> dict[str, Any]:
        """The public JSON object (``llmops cost --json`` and the plan's ``cost`` section)."""
        total = self.total
        unpriced = self.unpriced
        document: dict[str, Any] = {
            "currency": self.currency,
            "total": total.to_document(),
            "byRegion": {k: v.to_document() for k, v in self.by_region().items()},
            "items": [i.to_document() for i in sorted(self.items, key=lambda i: i.urn)],
            "unpricedCount": len(unpriced),
            "unpricedTypes": sorted({i.type for i in unpriced}),
            "usage": self.usage_document(),
            "usageSource": self.usage_source,
            "catalogue": self.catalogue.describe(),
            "notes": list(self.notes),
        }
        if self.stack is not None:
            document["stack"] = self.stack
        if self.project is not None:
            document["project"] = self.project
        return document


def _round(value: float, digits: int = 2) -> float:
    rounded = round(value + 0.0, digits)
    return 0.0 if rounded == 0 else rounded


# --------------------------------------------------------------------------- free resources

FREE_PREFIXES: tuple[str, ...] = (
    "pulumi:",
    "random:",
    "tls:",
    "command:",
    "aws:iam/",
    "kubernetes:",  # Kubernetes objects run on nodes already priced; NodePools and LB Services are handled first
)

FREE_TYPES: frozenset[str] = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/route:Route",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:ec2/networkAcl:NetworkAcl",
        "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
        "aws:ec2/defaultRouteTable:DefaultRouteTable",
        "aws:ec2/vpcDhcpOptions:VpcDhcpOptions",
        "aws:ec2/flowLog:FlowLog",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/keyPair:KeyPair",
        "aws:ec2/eipAssociation:EipAssociation",
        "aws:ec2/tag:Tag",
        "aws:eks/addon:Addon",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:eks/identityProviderConfig:IdentityProviderConfig",
        "aws:kms/alias:Alias",
        "aws:kms/keyPolicy:KeyPolicy",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketVersioningV2:BucketVersioningV2",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketNotification:BucketNotification",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sqs/queuePolicy:QueuePolicy",
        "aws:sqs/redrivePolicy:RedrivePolicy",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:rds/clusterParameterGroup:ClusterParameterGroup",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:elasticache/subnetGroup:SubnetGroup",
        "aws:elasticache/userGroup:UserGroup",
        "aws:elasticache/user:User",
        "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy",
        "aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy",
        "aws:opensearch/serverlessLifecyclePolicy:ServerlessLifecyclePolicy",
        "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
        "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:route53/record:Record",
        "aws:globalaccelerator/listener:Listener",
        "aws:globalaccelerator/endpointGroup:EndpointGroup",
        "aws:lb/listener:Listener",
        "aws:lb/listenerRule:ListenerRule",
        "aws:lb/targetGroup:TargetGroup",
        "aws:lb/targetGroupAttachment:TargetGroupAttachment",
        "aws:budgets/budget:Budget",
        "aws:costexplorer/anomalyMonitor:AnomalyMonitor",
        "aws:costexplorer/anomalySubscription:AnomalySubscription",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:secretsmanager/secretPolicy:SecretPolicy",
        "aws:ssm/parameter:Parameter",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    }
)

FREE_REASONS: dict[str, str] = {
    "aws:ec2/flowLog:FlowLog": "no charge for the flow log itself; its delivery is priced as ingestion on the log group",
    "aws:budgets/budget:Budget": "AWS Budgets without actions are free",
    "aws:ssm/parameter:Parameter": "standard-tier parameters are free",
    "aws:eks/addon:Addon": "EKS add-ons are free; their pods run on nodes priced elsewhere",
    "aws:lb/listener:Listener": "included in the load balancer's hourly and capacity-unit charges",
    "aws:lb/targetGroup:TargetGroup": "included in the load balancer's hourly and capacity-unit charges",
    "aws:route53/record:Record": "record storage is included in the hosted zone; queries to alias records are free",
}


def _free_reason(type_: str, custom: bool) -> str | None:
    if not custom:
        return "component resource (its children are priced)"
    if type_ in FREE_TYPES:
        return FREE_REASONS.get(type_, "AWS does not charge for this resource")
    if type_.startswith("pulumi:providers:"):
        return "provider resource"
    for prefix in FREE_PREFIXES:
        if type_.startswith(prefix):
            if prefix == "kubernetes:":
                return "Kubernetes object; runs on nodes priced by their pool"
            if prefix == "aws:iam/":
                return "IAM is free"
            return "no cloud resource"
    return None


# --------------------------------------------------------------------------- pricing rules


class Unpriced(Exception):
    """Raised by a pricing rule for a resource it cannot price; becomes an unpriced item."""


@dataclass
class _Priced:
    lines: list[CostLine] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)


@dataclass
class _Context:
    catalogue: PriceCatalogue
    usage: UsageConfig
    rds_clusters: dict[str, Mapping[str, Any]]
    node_classes: dict[tuple[str | None, str], Mapping[str, Any]]
    launch_templates: dict[tuple[str | None, str], Mapping[str, Any]]

    @property
    def hours(self) -> float:
        return self.usage.hours_per_month

    def service(self, key: str, region: str) -> tuple[float, str]:
        price = self.catalogue.service(key, region)
        return price.usd, price.unit


Rule = Callable[[CostInput, Mapping[str, Any], _Context], _Priced]


def _region(item: CostInput) -> str:
    if not item.region:
        raise Unpriced("no region recorded for this resource (it uses no AWS provider)")
    return item.region


def _num(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _hourly_line(ctx: _Context, description: str, key: str, region: str, count: float = 1.0) -> CostLine:
    price, unit = ctx.service(key, region)
    quantity = count * ctx.hours
    return CostLine(description, unit, price, quantity, quantity)


def _usage_line(ctx: _Context, description: str, key: str, region: str, quantity: float) -> CostLine:
    price, unit = ctx.service(key, region)
    return CostLine(description, unit, price, 0.0, quantity)


def _monthly_line(ctx: _Context, description: str, key: str, region: str, count: float = 1.0) -> CostLine:
    price, unit = ctx.service(key, region)
    return CostLine(description, unit, price, count, count)


def _node_lines(
    ctx: _Context,
    region: str,
    instance_type: str,
    capacity: Literal["spot", "on-demand"],
    min_nodes: float,
    expected_nodes: float,
    volume_gb: float,
    volume_type: str,
) -> tuple[list[CostLine], str]:
    hourly, how = ctx.catalogue.hourly(region, instance_type, capacity)
    lines = [
        CostLine(
            f"{instance_type} {capacity} instances",
            "instance-hour",
            hourly,
            min_nodes * ctx.hours,
            expected_nodes * ctx.hours,
        )
    ]
    if volume_gb > 0:
        key = "ebs.gp2" if volume_type == "gp2" else "ebs.gp3"
        price, unit = ctx.service(key, region)
        lines.append(
            CostLine(
                f"root volumes ({volume_gb:g} GB {key.split('.')[1]} per node)",
                unit,
                price,
                min_nodes * volume_gb,
                expected_nodes * volume_gb,
            )
        )
    return lines, how


def _expected_nodes(min_nodes: float, max_nodes: float, utilization: float) -> float:
    return min_nodes + utilization * max(max_nodes - min_nodes, 0.0)


def _requirement(requirements: Iterable[Mapping[str, Any]], key: str) -> list[str] | None:
    for requirement in requirements:
        if requirement.get("key") == key and requirement.get("operator", "In") == "In":
            return [str(v) for v in requirement.get("values") or []]
    return None


_QUANTITY = re.compile(r"^\s*([0-9.]+)\s*([KMGTP]i?)?\s*$")
# EBS sizes volumes in GiB and bills them per "GB-month" of that GiB; the unit here is GiB.
_GIB_FACTOR: dict[str | None, float] = {
    None: 1024**-3, "K": 1e3 / 1024**3, "M": 1e6 / 1024**3, "G": 1e9 / 1024**3, "T": 1e12 / 1024**3,
    "Ki": 1024**-2, "Mi": 1024**-1, "Gi": 1.0, "Ti": 1024.0, "P": 1e15 / 1024**3, "Pi": 1024.0**2,
}


def _gigabytes(value: Any) -> float | None:
    """A Kubernetes quantity (``200Gi``) or a plain number (GiB, as EBS takes it), in GiB."""
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY.match(str(value or ""))
    if not match:
        return None
    number, suffix = float(match.group(1)), match.group(2)
    return number * _GIB_FACTOR[suffix]


def _node_class_volume(ctx: _Context, region: str | None, spec: Mapping[str, Any]) -> tuple[float, str] | None:
    ref = ((spec.get("template") or {}).get("spec") or {}).get("nodeClassRef") or {}
    node_class = ctx.node_classes.get((region, str(ref.get("name", ""))))
    if node_class is None:
        return None
    mappings = (node_class.get("spec") or {}).get("blockDeviceMappings") or []
    total, volume_type = 0.0, "gp3"
    for mapping in mappings:
        ebs = mapping.get("ebs") or {}
        size = _gigabytes(ebs.get("volumeSize"))
        if size:
            total += size
            volume_type = str(ebs.get("volumeType") or volume_type)
    return (total, volume_type) if total else None


def _price_nodepool(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    metadata = inputs.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    spec = inputs.get("spec") or {}
    node_spec = (spec.get("template") or {}).get("spec") or {}
    requirements = node_spec.get("requirements") or []
    types = _requirement(requirements, INSTANCE_TYPE_LABEL)
    if not types:
        raise Unpriced(
            f"no '{INSTANCE_TYPE_LABEL} In [...]' requirement; the model cannot tell which instances Karpenter launches"
        )
    for name in types:
        check_instance_type(name, region)
    capacities = _requirement(requirements, CAPACITY_TYPE_LABEL) or ["on-demand"]
    capacity: Literal["spot", "on-demand"] = "spot" if "spot" in capacities else "on-demand"
    preferred = types[0]
    spec_type = catalog.instance_types()[preferred]
    min_nodes = _num(annotations.get(MIN_NODES_ANNOTATION), 0.0)
    max_nodes: float | None = None
    max_source = ""
    if annotations.get(MAX_NODES_ANNOTATION) not in (None, ""):
        max_nodes = _num(annotations.get(MAX_NODES_ANNOTATION), min_nodes)
        max_source = f"annotation {MAX_NODES_ANNOTATION}"
    else:
        gpu_limit = (spec.get("limits") or {}).get("nvidia.com/gpu")
        if gpu_limit not in (None, "") and spec_type.accelerator_count:
            max_nodes = float(int(_num(gpu_limit, 0) // spec_type.accelerator_count))
            max_source = f"limits nvidia.com/gpu {gpu_limit} / {spec_type.accelerator_count} GPU(s) per {preferred}"
    assumptions = []
    pool = annotations.get(POOL_ANNOTATION) or metadata.get("name") or item.name
    if max_nodes is None:
        expected = min_nodes
        assumptions.append(
            f"pool {pool}: no {MAX_NODES_ANNOTATION} annotation or GPU limit, so the expected figure keeps "
            f"the minimum of {min_nodes:g} node(s); add the annotation to price bursts"
        )
    else:
        expected = _expected_nodes(min_nodes, max_nodes, ctx.usage.gpu_utilization)
        assumptions.append(
            f"pool {pool}: expected nodes = min {min_nodes:g} + gpuUtilization {ctx.usage.gpu_utilization:g} x "
            f"(max {max_nodes:g} - min {min_nodes:g}) = {expected:g} (max from {max_source})"
        )
    volume = _node_class_volume(ctx, item.region, spec)
    if volume is None:
        volume_gb, volume_type = ctx.usage.gpu_node_volume_gb, "gp3"
        assumptions.append(f"root volume {volume_gb:g} GB gp3 per node (usage gpuNodeVolumeGb)")
    else:
        volume_gb, volume_type = volume
        assumptions.append(f"root volume {volume_gb:g} GB {volume_type} per node (from the EC2NodeClass)")
    lines, how = _node_lines(ctx, region, preferred, capacity, min_nodes, expected, volume_gb, volume_type)
    priced_how = how
    if len(types) > 1:
        others = []
        for name in types[1:]:
            try:
                others.append(ctx.catalogue.hourly(region, name, capacity)[0])
            except MissingPriceError:
                continue
        low = min([lines[0].unit_price, *others])
        high = max([lines[0].unit_price, *others])
        priced_how += (
            f"; priced as the first of {len(types)} allowed types (their {capacity} range ${low:.4f}-${high:.4f}/h)"
        )
    if len(capacities) > 1 and capacity == "spot":
        priced_how += "; spot assumed (Karpenter prefers spot when both capacity types are allowed)"
    assumptions.insert(0, priced_how)
    return _Priced(lines, assumptions)


def _node_group_volume(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> tuple[float, str, str]:
    """Root volume per node: ``diskSize``, else the launch template's block devices, else
    the EKS default."""
    disk = inputs.get("diskSize")
    if disk not in (None, ""):
        return _num(disk, EKS_NODEGROUP_DEFAULT_DISK_GB), "gp3", ""
    ref = inputs.get("launchTemplate") or {}
    template = None
    for key in (ref.get("id"), ref.get("name")):
        if key and (item.region, str(key)) in ctx.launch_templates:
            template = ctx.launch_templates[(item.region, str(key))]
            break
    if template is not None:
        total, volume_type = 0.0, "gp3"
        for mapping in template.get("blockDeviceMappings") or []:
            ebs = mapping.get("ebs") or {}
            size = _gigabytes(ebs.get("volumeSize"))
            if size:
                total += size
                volume_type = str(ebs.get("volumeType") or volume_type)
        if total:
            return total, volume_type, f"root volume {total:g} GB {volume_type} per node (from the launch template)"
    source = "launch template not in the plan, " if ref else ""
    size = float(EKS_NODEGROUP_DEFAULT_DISK_GB)
    return size, "gp3", f"root volume {size:g} GB gp3 per node ({source}EKS default diskSize)"


def _price_nodegroup(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    types = [str(t) for t in inputs.get("instanceTypes") or []] or [EKS_NODEGROUP_DEFAULT_INSTANCE_TYPE]
    for name in types:
        check_instance_type(name, region)
    capacity: Literal["spot", "on-demand"] = "spot" if str(inputs.get("capacityType", "")).upper() == "SPOT" else "on-demand"
    scaling = inputs.get("scalingConfig") or {}
    min_nodes = _num(scaling.get("minSize"), 1.0)
    max_nodes = _num(scaling.get("maxSize"), min_nodes)
    desired = min(max(_num(scaling.get("desiredSize"), min_nodes), min_nodes), max_nodes)
    preferred = types[0]
    accelerated = catalog.instance_types()[preferred].accelerator_count > 0
    assumptions: list[str] = []
    if accelerated:
        expected = _expected_nodes(min_nodes, max_nodes, ctx.usage.gpu_utilization)
        assumptions.append(
            f"expected nodes = min {min_nodes:g} + gpuUtilization {ctx.usage.gpu_utilization:g} x "
            f"(max {max_nodes:g} - min {min_nodes:g}) = {expected:g}"
        )
    else:
        expected = desired
        assumptions.append(f"expected nodes = desiredSize {desired:g} (minimum {min_nodes:g})")
    volume_gb, volume_type, volume_note = _node_group_volume(item, inputs, ctx)
    if volume_note:
        assumptions.append(volume_note)
    lines, how = _node_lines(ctx, region, preferred, capacity, min_nodes, expected, volume_gb, volume_type)
    if len(types) > 1:
        how += f"; priced as the first of {len(types)} allowed types"
    assumptions.insert(0, how)
    return _Priced(lines, assumptions)


def _price_instance(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    name = str(inputs.get("instanceType") or "")
    if not name:
        raise Unpriced("no instanceType argument (launch template not inspected)")
    check_instance_type(name, region)
    market = ((inputs.get("instanceMarketOptions") or {}).get("marketType") or "").lower()
    capacity: Literal["spot", "on-demand"] = "spot" if market == "spot" else "on-demand"
    root = inputs.get("rootBlockDevice") or {}
    volume_gb = _num(root.get("volumeSize"), EC2_DEFAULT_ROOT_VOLUME_GB)
    volume_type = str(root.get("volumeType") or "gp3")
    lines, how = _node_lines(ctx, region, name, capacity, 1.0, 1.0, volume_gb, volume_type)
    return _Priced(lines, [how])


def _price_eks(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    version = inputs.get("version")
    support = str(((inputs.get("upgradePolicy") or {}).get("supportType")) or "EXTENDED").upper()
    extended = support != "STANDARD" and ctx.catalogue.eks_extended_support(str(version) if version else None)
    key = "eks.cluster.extended" if extended else "eks.cluster.standard"
    note = (
        f"Kubernetes {version} is past standard support: extended-support rate"
        if extended
        else f"Kubernetes {version or '(latest)'}: standard-support rate"
    )
    return _Priced([_hourly_line(ctx, "EKS control plane", key, region)], [note])


def _price_nat(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    gb = ctx.usage.nat_data_gb_per_month
    return _Priced(
        [
            _hourly_line(ctx, "NAT gateway hours", "nat.hour", region),
            _usage_line(ctx, "NAT data processed", "nat.data", region, gb),
        ],
        [f"{gb:g} GB/month processed (usage natDataGbPerMonth)"],
    )


def _price_eip(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    return _Priced(
        [_hourly_line(ctx, "public IPv4 address", "ipv4.hour", region)],
        ["one public IPv4 address, charged whether attached or idle"],
    )


def _price_vpc_endpoint(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    kind = str(inputs.get("vpcEndpointType") or "Gateway")
    if kind == "Gateway":
        return _Priced([], ["gateway endpoint (S3/DynamoDB): no hourly or data charge"])
    if kind != "Interface":
        raise Unpriced(f"{kind} endpoints are not in the price catalogue")
    subnets = inputs.get("subnetIds") or []
    azs = float(len(subnets)) if subnets else 1.0
    gb = ctx.usage.endpoint_data_gb_per_month
    assumptions = [f"{gb:g} GB/month processed (usage endpointDataGbPerMonth)"]
    assumptions.append(
        f"{azs:g} AZ(s) = one per subnet id" if subnets else "no subnetIds recorded: one AZ assumed"
    )
    return _Priced(
        [
            _hourly_line(ctx, f"interface endpoint ({azs:g} AZ)", "vpce.interface.hour", region, azs),
            _usage_line(ctx, "endpoint data processed", "vpce.interface.data", region, gb),
        ],
        assumptions,
    )


def _price_log_group(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    gb = ctx.usage.log_ingestion_gb_per_month
    infrequent = str(inputs.get("logGroupClass") or "STANDARD").upper() == "INFREQUENT_ACCESS"
    retention = int(_num(inputs.get("retentionInDays"), 0))
    months = min(retention / DAYS_PER_MONTH, NEVER_EXPIRE_MONTHS) if retention else NEVER_EXPIRE_MONTHS
    stored = gb * months
    retention_note = f"retention {retention} days" if retention else f"never expires: {NEVER_EXPIRE_MONTHS} months held"
    return _Priced(
        [
            _usage_line(ctx, "log ingestion", "logs.ingest.infrequent" if infrequent else "logs.ingest.standard", region, gb),
            _usage_line(ctx, "log storage", "logs.storage", region, stored),
        ],
        [
            f"{gb:g} GB/month ingested (usage logIngestionGbPerMonth)",
            f"{stored:.2f} GB stored = {gb:g} GB/month x {months:.2f} months ({retention_note})",
        ],
    )


def _price_alarm(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    queries = inputs.get("metricQueries") or []
    metrics = float(sum(1 for q in queries if q.get("metric"))) if queries else 1.0
    period = _num(inputs.get("period"), 60)
    high = period < 60
    key = "cloudwatch.alarm.high" if high else "cloudwatch.alarm.standard"
    return _Priced(
        [_monthly_line(ctx, f"{'high' if high else 'standard'}-resolution alarm ({metrics:g} metric(s))", key, region, metrics)],
        [] if not queries else [f"{metrics:g} metric(s) in the alarm's metric queries"],
    )


def _price_kms(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    return _Priced(
        [_monthly_line(ctx, "customer managed key", "kms.key", region)],
        ["API requests ($0.03 per 10,000 beyond the free tier) not included"],
    )


def _price_secret(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    return _Priced([_monthly_line(ctx, "secret", "secretsmanager.secret", region)], [])


def _price_queue(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    fifo = bool(inputs.get("fifoQueue"))
    millions = ctx.usage.queue_requests_millions_per_month
    return _Priced(
        [_usage_line(ctx, "queue requests", "sqs.requests.fifo" if fifo else "sqs.requests", region, millions)],
        [f"{millions:g} million requests/month (usage queueRequestsMillionsPerMonth)"],
    )


def _price_topic(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    _region(item)
    return _Priced([], ["alert volumes stay within the free 1 million publishes a month; email deliveries not included"])


def _scaling(inputs: Mapping[str, Any]) -> tuple[float, float] | None:
    config = inputs.get("serverlessv2ScalingConfiguration")
    if isinstance(config, list):
        config = config[0] if config else None
    if not config:
        return None
    low = _num(config.get("minCapacity"), 0.5)
    return low, max(_num(config.get("maxCapacity"), low), low)


def _io_optimized(inputs: Mapping[str, Any]) -> bool:
    return str(inputs.get("storageType") or "") == "aurora-iopt1"


def _price_rds_cluster(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    engine = str(inputs.get("engine") or "aurora-postgresql")
    if not engine.startswith("aurora"):
        raise Unpriced(f"engine {engine}: only Aurora clusters are in the price catalogue")
    iopt = _io_optimized(inputs)
    gb = ctx.usage.aurora_storage_gb
    return _Priced(
        [_usage_line(ctx, "Aurora storage", "aurora.storage.iopt" if iopt else "aurora.storage", region, gb)],
        [
            f"{gb:g} GB stored (usage auroraStorageGb); I/O {'included (I/O-Optimized)' if iopt else 'requests not included'}",
            "compute is priced on the cluster's instances",
        ],
    )


def _price_rds_instance(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    klass = str(inputs.get("instanceClass") or "")
    if klass != "db.serverless":
        raise Unpriced(f"provisioned Aurora instance class '{klass}' is not in the price catalogue")
    cluster = ctx.rds_clusters.get(str(inputs.get("clusterIdentifier") or ""))
    scaling = _scaling(inputs) or (_scaling(cluster) if cluster is not None else None)
    if scaling is None:
        raise Unpriced(
            "db.serverless instance whose cluster (and serverlessv2ScalingConfiguration) is not in the plan"
        )
    low, high = scaling
    iopt = _io_optimized(cluster or {})
    price, unit = ctx.service("aurora.serverless.acu.iopt" if iopt else "aurora.serverless.acu", region)
    util = ctx.usage.aurora_utilization
    expected = low + util * (high - low)
    assumptions = [
        f"expected ACUs = min {low:g} + auroraUtilization {util:g} x (max {high:g} - min {low:g}) = {expected:g}"
    ]
    if low == 0:
        assumptions.append("minCapacity 0: the instance auto-pauses when idle (no ACU charge at the minimum)")
    return _Priced([CostLine("Aurora Serverless v2 capacity", unit, price, low * ctx.hours, expected * ctx.hours)], assumptions)


def _price_serverless_cache(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    engine = str(inputs.get("engine") or "valkey").lower()
    if engine not in ELASTICACHE_MIN_DATA_GB:
        raise Unpriced(f"ElastiCache serverless engine '{engine}' is not in the price catalogue")
    family = "valkey" if engine == "valkey" else "redis"
    limits = inputs.get("cacheUsageLimits") or {}
    if isinstance(limits, list):
        limits = limits[0] if limits else {}
    storage = limits.get("dataStorage") or {}
    if isinstance(storage, list):
        storage = storage[0] if storage else {}
    floor = max(ELASTICACHE_MIN_DATA_GB[engine], _num(storage.get("minimum"), 0.0))
    data = max(ctx.usage.cache_data_gb, floor)
    ecpu = ctx.usage.cache_ecpu_millions_per_month
    price, unit = ctx.service(f"elasticache.serverless.{family}.data", region)
    return _Priced(
        [
            CostLine(f"{engine} data stored", unit, price, floor * ctx.hours, data * ctx.hours),
            _usage_line(ctx, "ElastiCache Processing Units", f"elasticache.serverless.{family}.ecpu", region, ecpu),
        ],
        [
            f"minimum metered data {floor:g} GB; expected {data:g} GB (usage cacheDataGb)",
            f"{ecpu:g} million ECPUs/month (usage cacheEcpuMillionsPerMonth)",
        ],
    )


def _price_search_collection(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    standby = str(inputs.get("standbyReplicas") or "ENABLED").upper()
    floor = OPENSEARCH_MIN_OCUS.get(standby, OPENSEARCH_MIN_OCUS["ENABLED"])
    ocus = max(ctx.usage.search_ocus, floor)
    price, unit = ctx.service("opensearch.serverless.ocu", region)
    gb = ctx.usage.search_storage_gb
    return _Priced(
        [
            CostLine("OpenSearch Serverless OCUs", unit, price, floor * ctx.hours, ocus * ctx.hours),
            _usage_line(ctx, "OpenSearch Serverless storage", "opensearch.serverless.storage", region, gb),
        ],
        [
            f"minimum {floor:g} OCU (standby replicas {standby.lower()}; shared by collections with the same KMS key)",
            f"expected {ocus:g} OCU (usage searchOcus), {gb:g} GB indexed (usage searchStorageGb)",
        ],
    )


def _price_bucket(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    gb = ctx.usage.s3_storage_gb_per_bucket
    return _Priced(
        [_usage_line(ctx, "S3 Standard storage", "s3.standard", region, gb)],
        [f"{gb:g} GB stored (usage s3StorageGbPerBucket); requests and transfer not included"],
    )


def _lb_lines(ctx: _Context, kind: str, region: str) -> _Priced:
    if kind not in ("application", "network", "gateway", "classic"):
        raise Unpriced(f"load balancer type '{kind}' is not in the price catalogue")
    lines = [_hourly_line(ctx, f"{kind} load balancer hours", f"elb.{kind}.hour", region)]
    assumptions = []
    if kind != "classic":
        lcus = ctx.usage.load_balancer_lcus
        price, unit = ctx.service(f"elb.{kind}.lcu", region)
        lines.append(CostLine("capacity units", unit, price, 0.0, lcus * ctx.hours))
        assumptions.append(f"{lcus:g} capacity unit(s) on average (usage loadBalancerLcus)")
    return _Priced(lines, assumptions)


def _price_load_balancer(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    return _lb_lines(ctx, str(inputs.get("loadBalancerType") or "application"), _region(item))


def _price_k8s_service(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    spec = inputs.get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return _Priced([], [])
    annotations = (inputs.get("metadata") or {}).get("annotations") or {}
    lb_type = str(annotations.get("service.beta.kubernetes.io/aws-load-balancer-type") or "")
    kind = "network" if lb_type in ("nlb", "nlb-ip", "external") or spec.get("loadBalancerClass") == "service.k8s.aws/nlb" else "classic"
    priced = _lb_lines(ctx, kind, _region(item))
    priced.assumptions.insert(0, f"Service of type LoadBalancer: AWS provisions a {kind} load balancer")
    return priced


def _price_health_check(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = _region(item)
    kind = str(inputs.get("type") or "HTTP").upper()
    features = []
    if kind.startswith("HTTPS"):
        features.append("HTTPS")
    if kind.endswith("STR_MATCH"):
        features.append("string matching")
    if int(_num(inputs.get("requestInterval"), 30)) == 10:
        features.append("fast interval")
    if inputs.get("measureLatency"):
        features.append("latency measurement")
    lines = [_monthly_line(ctx, "health check", "route53.healthcheck.aws", region)]
    if features:
        lines.append(
            _monthly_line(ctx, f"optional features: {', '.join(features)}", "route53.healthcheck.feature", region, len(features))
        )
    return _Priced(lines, ["AWS endpoint rates (a load balancer or accelerator endpoint)"])


def _price_zone(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = item.region or "us-east-1"
    return _Priced([_monthly_line(ctx, "hosted zone", "route53.zone", region)], ["queries not included"])


def _price_accelerator(item: CostInput, inputs: Mapping[str, Any], ctx: _Context) -> _Priced:
    region = item.region or "us-east-1"
    gb = ctx.usage.accelerator_data_gb_per_month
    return _Priced(
        [
            _hourly_line(ctx, "accelerator fixed fee", "globalaccelerator.hour", region),
            _usage_line(ctx, "data transfer premium", "globalaccelerator.data", region, gb),
        ],
        [f"{gb:g} GB/month in the dominant direction (usage acceleratorDataGbPerMonth)"],
    )


RULES: dict[str, Rule] = {
    "aws:eks/cluster:Cluster": _price_eks,
    "aws:eks/nodeGroup:NodeGroup": _price_nodegroup,
    "aws:ec2/instance:Instance": _price_instance,
    "aws:ec2/natGateway:NatGateway": _price_nat,
    "aws:ec2/eip:Eip": _price_eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _price_vpc_endpoint,
    "aws:cloudwatch/logGroup:LogGroup": _price_log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _price_alarm,
    "aws:kms/key:Key": _price_kms,
    "aws:secretsmanager/secret:Secret": _price_secret,
    "aws:sqs/queue:Queue": _price_queue,
    "aws:sns/topic:Topic": _price_topic,
    "aws:rds/cluster:Cluster": _price_rds_cluster,
    "aws:rds/clusterInstance:ClusterInstance": _price_rds_instance,
    "aws:elasticache/serverlessCache:ServerlessCache": _price_serverless_cache,
    "aws:opensearch/serverlessCollection:ServerlessCollection": _price_search_collection,
    "aws:s3/bucket:Bucket": _price_bucket,
    "aws:s3/bucketV2:BucketV2": _price_bucket,
    "aws:lb/loadBalancer:LoadBalancer": _price_load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": _price_load_balancer,
    "aws:route53/healthCheck:HealthCheck": _price_health_check,
    "aws:route53/zone:Zone": _price_zone,
    "aws:globalaccelerator/accelerator:Accelerator": _price_accelerator,
    "kubernetes:core/v1:Service": _price_k8s_service,
    **{t: _price_nodepool for t in NODEPOOL_TYPES},
}


# --------------------------------------------------------------------------- entry points


def _name_of(item: CostInput) -> str:
    return item.name or item.urn.rsplit("::", 1)[-1]


def _context(items: list[CostInput], usage: UsageConfig, catalogue: PriceCatalogue) -> _Context:
    clusters: dict[str, Mapping[str, Any]] = {}
    node_classes: dict[tuple[str | None, str], Mapping[str, Any]] = {}
    templates: dict[tuple[str | None, str], Mapping[str, Any]] = {}
    for item in items:
        if item.type == "aws:ec2/launchTemplate:LaunchTemplate":
            for key in (item.inputs.get("name"), item.id):
                if key:
                    templates[(item.region, str(key))] = item.inputs
            continue
        if item.type == "aws:rds/cluster:Cluster":
            for key in (item.inputs.get("clusterIdentifier"), item.id):
                if key:
                    clusters[str(key)] = item.inputs
        elif item.type in NODECLASS_TYPES:
            name = (item.inputs.get("metadata") or {}).get("name")
            if name:
                node_classes[(item.region, str(name))] = item.inputs
    return _Context(catalogue, usage, clusters, node_classes, templates)


def price_item(item: CostInput, ctx: _Context, strict: bool = True) -> CostItem:
    """Prices one resource (see :func:`estimate`)."""
    name = _name_of(item)

    def make(status: Status, reason: str | None = None, priced: _Priced | None = None) -> CostItem:
        return CostItem(
            urn=item.urn,
            type=item.type,
            name=name,
            region=item.region,
            component=item.component or "stack",
            status=status,
            lines=tuple(priced.lines) if priced else (),
            assumptions=tuple(priced.assumptions) if priced else (),
            reason=reason,
        )

    rule = RULES.get(item.type) if item.custom else None
    if rule is None:
        reason = _free_reason(item.type, item.custom)
        if reason is not None:
            return make("free", reason)
        return make("unpriced", f"the cost model has no pricing rule for {item.type}")
    try:
        priced = rule(item, item.inputs, ctx)
    except (Unpriced, MissingPriceError) as exc:
        return make("unpriced", str(exc))
    except PriceLookupError as exc:
        if strict:
            raise type(exc)(f"{name} ({item.type}): {exc}") from None
        return make("unpriced", str(exc))
    if not priced.lines:
        return make("free", "; ".join(priced.assumptions) or "no charge")
    return make("priced", priced=priced)


def estimate(
    items: Iterable[CostInput],
    usage: UsageConfig | None = None,
    catalogue: PriceCatalogue | None = None,
    *,
    strict: bool = True,
    usage_source: str | None = None,
) -> CostEstimate:
    """Monthly cost of ``items``.

    ``usage`` defaults to :class:`~stacks.config.UsageConfig` defaults (stated in the
    estimate's ``usageSource``); ``catalogue`` to the packaged price catalogue. With
    ``strict`` (the default) an unknown instance type or region raises a
    :class:`~core.catalog.prices.PriceLookupError` naming the resource; without it the
    resource is listed as unpriced with that message (for policy packs, which report
    rather than fail).
    """
    materialised = list(items)
    resolved_usage = usage if usage is not None else UsageConfig()
    source = usage_source or ("usage passed by the caller" if usage is not None else "UsageConfig defaults")
    cat = catalogue if catalogue is not None else load_prices()
    ctx = _context(materialised, resolved_usage, cat)
    priced = [price_item(item, ctx, strict) for item in materialised]
    return CostEstimate(items=priced, usage=resolved_usage, usage_source=source, catalogue=cat)


# --------------------------------------------------------------------------- plans


def usage_for_plan(result: PlanResult) -> tuple[UsageConfig, str]:
    """The usage assumptions of the plan's stack config and where they came from."""
    from stacks.config import namespace_values, parse

    values = namespace_values(result.config.values)
    source_file = result.config.source.name
    if not values:
        return UsageConfig(), f"UsageConfig defaults ({source_file} has no llmops: config)"
    config = parse(values, source=source_file)
    where = "llmops:usage" if "usage" in values else "UsageConfig defaults (no llmops:usage section)"
    return config.usage, f"{where} in {source_file}"


def plan_inputs(result: PlanResult) -> list[CostInput]:
    """The plan's resources as :class:`CostInput` s, each with its component."""
    from llmops.engine.mocks import unwrap_secrets
    from llmops.engine.runner import STACK_TYPE

    by_urn = {r.urn: r for r in result.resources}
    components: dict[str, str] = {}

    def component_of(urn: str | None) -> str:
        chain: list[str] = []
        label = "stack"
        while urn is not None and urn in by_urn:
            if urn in components:
                label = components[urn]
                break
            record = by_urn[urn]
            chain.append(urn)
            if not record.custom and record.type != STACK_TYPE and not record.type.startswith("pulumi:providers:"):
                label = record.type.rsplit(":", 1)[-1]
                break
            urn = record.parent
        for visited in chain:
            components[visited] = label
        return label

    inputs = []
    for record in result.resources:
        if record.type == STACK_TYPE:
            component = "stack"
        elif not record.custom:
            component = record.type.rsplit(":", 1)[-1]
        else:
            component = component_of(record.parent)
        inputs.append(
            CostInput(
                urn=record.urn,
                type=record.type,
                region=record.region,
                inputs=unwrap_secrets(record.inputs),
                component=component,
                name=record.name,
                custom=record.custom,
                id=record.id,
            )
        )
    return inputs


def estimate_plan(
    result: PlanResult,
    usage: UsageConfig | None = None,
    catalogue: PriceCatalogue | None = None,
) -> CostEstimate:
    """Monthly cost of an offline plan, with the stack config's usage assumptions unless
    ``usage`` is given."""
    if usage is None:
        usage, source = usage_for_plan(result)
    else:
        source = "usage passed by the caller"
    result_estimate = estimate(plan_inputs(result), usage, catalogue, usage_source=source)
    result_estimate.stack = result.stack
    result_estimate.project = result.project
    return result_estimate


def cost_section(result: PlanResult, catalogue: PriceCatalogue | None = None) -> dict[str, Any]:
    """The ``cost`` object of ``llmops plan --json`` (same as ``llmops cost --json``)."""
    return estimate_plan(result, catalogue=catalogue).to_document()
