"""The capacity planner's decisions, as pure functions of what AWS reported.

:func:`evaluate` takes a :class:`~llmops.capacity.models.CapacityRequest` and one
:class:`~llmops.capacity.models.RegionObservation` per region and decides, per region and
candidate instance type, whether it can supply the capacity:

- offered in at least ``min_azs`` availability zones (``describe_instance_type_offerings``),
- priced: a recent spot price in one of those AZs for spot; on-demand types are priced from
  the catalogue and stay viable (ranked last) when the catalogue has no price,
- within the account's vCPU quota for the family and capacity type, when Service Quotas
  reports one (an unknown quota does not exclude a region).

Viable regions are ranked by price per GPU-hour (cheapest AZ's spot price, or on-demand
price, divided by GPUs per instance), then by how many AZs offer the type, then by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from llmops.capacity.models import (
    Candidate,
    CapacityReport,
    CapacityRequest,
    Exclusion,
    ExclusionKind,
    Option,
    QuotaObservation,
    RegionObservation,
    RegionResult,
)
from llmops.capacity.resolve import quota_for

OnDemandPrice = Callable[[str, str], float | None]
"""``(region, instance_type) -> USD per hour`` or None when unknown."""

_KIND_ORDER: tuple[ExclusionKind, ...] = (
    "region-not-enabled",
    "not-permitted",
    "throttled",
    "error",
    "not-offered",
    "too-few-azs",
    "no-spot-price",
    "quota-too-low",
)


def no_on_demand_prices(region: str, instance_type: str) -> float | None:
    """An :data:`OnDemandPrice` that knows no prices."""
    return None


@dataclass(frozen=True, slots=True)
class _Problem:
    kind: ExclusionKind
    instance_type: str
    detail: str


def evaluate(
    request: CapacityRequest,
    observations: Mapping[str, RegionObservation],
    on_demand_price: OnDemandPrice = no_on_demand_prices,
) -> CapacityReport:
    """Ranks the request's regions; every region in ``request.regions`` must be observed."""
    results = [evaluate_region(request, observations[region], on_demand_price) for region in request.regions]
    ranked = sorted((r for r in results if r.viable), key=lambda r: (*_best_key(r), r.region))
    excluded = sorted((r for r in results if not r.viable), key=lambda r: r.region)
    return CapacityReport(request=request, ranked=tuple(ranked), excluded=tuple(excluded))


def _best_key(result: RegionResult) -> tuple[object, ...]:
    assert result.best is not None
    return result.best.sort_key()


def evaluate_region(
    request: CapacityRequest,
    observation: RegionObservation,
    on_demand_price: OnDemandPrice = no_on_demand_prices,
) -> RegionResult:
    """The verdict for one region."""
    region = observation.region
    if observation.failure is not None:
        failure = observation.failure
        return RegionResult(
            region=region,
            exclusions=(Exclusion(kind=failure.kind, message=failure.message),),
        )
    options: list[Option] = []
    problems: list[_Problem] = []
    for candidate in request.candidates:
        option = _evaluate_candidate(request, observation, candidate, on_demand_price, problems)
        if option is not None:
            options.append(option)
    options.sort(key=Option.sort_key)
    return RegionResult(region=region, options=tuple(options), exclusions=_group(request, region, problems))


def _evaluate_candidate(
    request: CapacityRequest,
    observation: RegionObservation,
    candidate: Candidate,
    on_demand_price: OnDemandPrice,
    problems: list[_Problem],
) -> Option | None:
    name = candidate.instance_type
    region = observation.region
    azs = tuple(sorted(observation.offerings.get(name, ())))
    if not azs:
        problems.append(_Problem("not-offered", name, name))
        return None
    found = len(problems)
    if len(azs) < request.min_azs:
        where = ", ".join(azs)
        problems.append(
            _Problem("too-few-azs", name, f"{name} in {len(azs)} AZ{'s' if len(azs) != 1 else ''} ({where})")
        )
    az_prices: dict[str, float] = {}
    hourly: float | None
    if request.capacity_type == "spot":
        az_prices = {az: price for az, price in observation.spot_prices.get(name, {}).items() if az in azs}
        if not az_prices:
            problems.append(_Problem("no-spot-price", name, name))
            hourly = None
        else:
            hourly = min(az_prices.values())
        source = f"spot price history (last {request.lookback_hours:g} h, cheapest AZ)"
    else:
        hourly = on_demand_price(region, name)
        source = "price catalogue (on-demand)" if hourly is not None else "no on-demand price in the catalogue"
    quota = _quota(request, observation, candidate)
    needed = request.vcpus_needed(candidate)
    if quota is not None and quota.value is not None and quota.value < needed:
        problems.append(
            _Problem(
                "quota-too-low",
                name,
                f"{quota.code} ({quota.name}) is {quota.value:g} vCPUs; {request.nodes} x {name} needs "
                f"{needed}; request an increase: aws service-quotas request-service-quota-increase "
                f"--region {region} --service-code ec2 --quota-code {quota.code} --desired-value {needed}",
            )
        )
    if len(problems) > found:
        return None
    return Option(
        candidate=candidate,
        availability_zones=azs,
        hourly_usd=hourly,
        price_source=source,
        az_prices=az_prices,
        quota=quota,
        vcpus_needed=needed,
    )


def _quota(request: CapacityRequest, observation: RegionObservation, candidate: Candidate) -> QuotaObservation | None:
    spec = quota_for(candidate.instance_type, request.capacity_type)
    if spec is None:
        return None
    code, name = spec
    return observation.quotas.get(code, QuotaObservation(code=code, name=name, value=None, note="not asked"))


def _group(request: CapacityRequest, region: str, problems: list[_Problem]) -> tuple[Exclusion, ...]:
    """One exclusion per kind, naming the instance types it applies to."""
    result: list[Exclusion] = []
    for kind in _KIND_ORDER:
        of_kind = [p for p in problems if p.kind == kind]
        if not of_kind:
            continue
        types = tuple(dict.fromkeys(p.instance_type for p in of_kind))
        details = list(dict.fromkeys(p.detail for p in of_kind))
        if kind == "not-offered":
            message = f"not offered in {region}: {', '.join(types)}"
        elif kind == "too-few-azs":
            message = f"fewer than {request.min_azs} AZs (--min-azs): {'; '.join(details)}"
        elif kind == "no-spot-price":
            message = f"no spot price in the last {request.lookback_hours:g} h: {', '.join(types)}"
        elif kind == "quota-too-low":
            message = "quota too low: " + "; ".join(_dedupe_quota(details))
        else:
            message = "; ".join(details)
        result.append(Exclusion(kind=kind, message=message, instance_types=types))
    return tuple(result)


def _dedupe_quota(details: list[str]) -> list[str]:
    """Several candidates share one quota: keep the first message per quota code (candidates
    come smallest first, so that is the smallest shortfall)."""
    by_code: dict[str, str] = {}
    for detail in details:
        by_code.setdefault(detail.split(" ", 1)[0], detail)
    return list(by_code.values())
