"""The boto3 layer: asks each region what it offers, what spot capacity costs there and
what the account may run, and turns AWS errors into exclusions or clear messages.

Clients come from a :class:`ClientFactory` (inject a session or an endpoint, e.g. a moto
server, in tests). Each region is asked on a small thread pool. Throttling is retried by
:class:`~llmops.awsclient.RetryPolicy` (exponential backoff with full jitter, bounded
attempts, shared with ``llmops spend``); botocore's own retries are switched off so the two
never multiply.

Calls made per region (IAM: ``ec2:DescribeInstanceTypeOfferings``,
``ec2:DescribeSpotPriceHistory``, ``servicequotas:GetServiceQuota``):

1. ``ec2.describe_instance_type_offerings(LocationType="availability-zone")`` for the
   candidates;
2. for spot, ``ec2.describe_spot_price_history`` (``Linux/UNIX``, the last few hours) for
   the offered candidates; the latest price per AZ wins;
3. ``service-quotas.get_service_quota(ServiceCode="ec2")`` for each vCPU quota that limits
   an offered candidate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from llmops.awsclient import (
    THROTTLING_CODES,
    TRANSIENT_CODES,
    RetryPolicy,
    ThrottledError,
    error_code,
)
from llmops.awsclient import client_config as shared_client_config
from llmops.capacity.errors import CapacityError, CredentialsError
from llmops.capacity.models import (
    CapacityReport,
    CapacityRequest,
    QuotaObservation,
    RegionFailure,
    RegionObservation,
)
from llmops.capacity.planner import OnDemandPrice, evaluate, no_on_demand_prices
from llmops.capacity.resolve import quota_for

NOT_ENABLED_CODES = frozenset({"AuthFailure", "OptInRequired", "UnrecognizedClientException", "InvalidClientTokenId"})
"""What AWS answers in a region the account has not enabled (opt-in regions) - or, in every
region, for credentials it does not accept."""

NOT_PERMITTED_CODES = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})

CREDENTIALS_HELP = (
    "set AWS credentials: export AWS_PROFILE=<profile> (after `aws configure --profile <profile>` "
    "or `aws sso login --profile <profile>`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; "
    "the identity needs ec2:DescribeInstanceTypeOfferings, ec2:DescribeSpotPriceHistory and "
    "servicequotas:GetServiceQuota"
)


def client_config() -> Config:
    """botocore settings for the planner (see :func:`llmops.awsclient.client_config`)."""
    return shared_client_config("llmops-capacity")


class ClientFactory:
    """Makes (and caches) one boto3 client per service and region, thread-safely.

    :param session: a boto3 session to use (default: a new one, honouring ``AWS_PROFILE``,
        the credential chain and ``AWS_ENDPOINT_URL``).
    :param profile: a named profile for the new session; not with ``session``.
    :param endpoint_url: send every call there (a moto server, a VPC endpoint proxy).
    :param config: botocore config (default: :func:`client_config`).
    """

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        *,
        profile: str | None = None,
        endpoint_url: str | None = None,
        config: Config | None = None,
    ) -> None:
        if session is None:
            try:
                session = boto3.session.Session(profile_name=profile)
            except ProfileNotFound:
                raise CredentialsError(
                    f"AWS profile '{profile}' is not configured; run `aws configure --profile {profile}` "
                    "or pass an existing profile with --profile / AWS_PROFILE"
                ) from None
        self.session = session
        self.endpoint_url = endpoint_url
        self.config = config or client_config()
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        """The ``service`` client for ``region``."""
        key = (service, region)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=self.config
                )
                self._clients[key] = found
            return found

    def check_credentials(self) -> None:
        """Raises :class:`CredentialsError` when the credential chain finds nothing."""
        try:
            credentials = self.session.get_credentials()
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise CredentialsError(f"AWS credentials are incomplete ({exc}); {CREDENTIALS_HELP}") from None
        if credentials is None:
            raise CredentialsError(f"no AWS credentials found; {CREDENTIALS_HELP}")


@dataclass(frozen=True, slots=True)
class Observer:
    """Asks one region at a time; :meth:`observe` is safe to run on several threads."""

    clients: ClientFactory
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def observe(self, request: CapacityRequest, region: str) -> RegionObservation:
        """Everything ``region`` reports for ``request`` (a failure observation when the
        region cannot be asked)."""
        names = [c.instance_type for c in request.candidates]
        try:
            offerings = self._offerings(region, names)
            offered = [n for n in names if offerings.get(n)]
            spot: dict[str, dict[str, float]] = {}
            if request.capacity_type == "spot" and offered:
                spot = self._spot_prices(region, offered, request.lookback_hours)
        except ThrottledError as exc:
            return RegionObservation(
                region=region,
                failure=RegionFailure(
                    kind="throttled",
                    code=exc.code,
                    message=(
                        f"AWS kept throttling requests in {region} ({exc.code}, {exc.attempts} attempts); "
                        "try again in a minute or ask fewer regions at once"
                    ),
                ),
            )
        except ClientError as exc:
            return RegionObservation(region=region, failure=_failure(region, exc))
        codes = dict.fromkeys(
            spec for n in offered if (spec := quota_for(n, request.capacity_type)) is not None
        )
        quotas = {code: self.quota(region, code, name) for code, name in codes}
        return RegionObservation(region=region, offerings=offerings, spot_prices=spot, quotas=quotas)

    def _offerings(self, region: str, names: list[str]) -> dict[str, tuple[str, ...]]:
        ec2 = self.clients.client("ec2", region)

        def fetch() -> dict[str, tuple[str, ...]]:
            found: dict[str, set[str]] = {}
            pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
                LocationType="availability-zone",
                Filters=[{"Name": "instance-type", "Values": names}],
            )
            for page in pages:
                for offering in page.get("InstanceTypeOfferings", []):
                    found.setdefault(offering["InstanceType"], set()).add(offering["Location"])
            return {name: tuple(sorted(azs)) for name, azs in found.items() if name in names}

        return self.retry.call(fetch)

    def _spot_prices(self, region: str, names: list[str], lookback_hours: float) -> dict[str, dict[str, float]]:
        ec2 = self.clients.client("ec2", region)
        start = self.clock() - timedelta(hours=lookback_hours)

        def fetch() -> dict[str, dict[str, float]]:
            latest: dict[tuple[str, str], tuple[datetime, float]] = {}
            pages = ec2.get_paginator("describe_spot_price_history").paginate(
                InstanceTypes=names,
                ProductDescriptions=["Linux/UNIX"],
                StartTime=start,
            )
            for page in pages:
                for item in page.get("SpotPriceHistory", []):
                    key = (item["InstanceType"], item["AvailabilityZone"])
                    stamp = _aware(item.get("Timestamp"))
                    seen = latest.get(key)
                    if seen is None or stamp > seen[0]:
                        latest[key] = (stamp, float(item["SpotPrice"]))
            result: dict[str, dict[str, float]] = {}
            for (name, az), (_, price) in sorted(latest.items()):
                result.setdefault(name, {})[az] = price
            return result

        return self.retry.call(fetch)

    def quota(self, region: str, code: str, name: str) -> QuotaObservation:
        """The EC2 quota ``code`` in ``region`` (its value None, with a note, when it cannot
        be read)."""
        client = self.clients.client("service-quotas", region)
        try:
            response = self.retry.call(lambda: client.get_service_quota(ServiceCode="ec2", QuotaCode=code))
        except ThrottledError as exc:
            return QuotaObservation(code, name, None, f"throttled ({exc.code}, {exc.attempts} attempts)")
        except ClientError as exc:
            err = error_code(exc)
            if err == "NoSuchResourceException":
                note = "Service Quotas does not report it in this region"
            elif err in NOT_PERMITTED_CODES:
                note = "no permission: grant servicequotas:GetServiceQuota"
            else:
                note = f"{err}: {exc.response.get('Error', {}).get('Message', '')}".strip()
            return QuotaObservation(code, name, None, note)
        quota = response.get("Quota", {})
        value = quota.get("Value")
        return QuotaObservation(
            code=code,
            name=str(quota.get("QuotaName") or name),
            value=float(value) if value is not None else None,
        )


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.min.replace(tzinfo=UTC)


def _failure(region: str, exc: ClientError) -> RegionFailure:
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")).strip()
    if code in NOT_ENABLED_CODES:
        return RegionFailure(
            kind="region-not-enabled",
            code=code,
            message=(
                f"{region} is not enabled for this account ({code}); enable it under "
                "AWS console > Account > AWS Regions, or drop it from --regions"
            ),
        )
    if code in NOT_PERMITTED_CODES:
        return RegionFailure(
            kind="not-permitted",
            code=code,
            message=(
                f"not permitted in {region} ({code}); grant ec2:DescribeInstanceTypeOfferings, "
                "ec2:DescribeSpotPriceHistory and servicequotas:GetServiceQuota"
            ),
        )
    return RegionFailure(kind="error", code=code, message=f"{code}: {message}" if message else code)


def observe_regions(
    request: CapacityRequest,
    observer: Observer,
    *,
    max_workers: int = 4,
) -> dict[str, RegionObservation]:
    """Observes every region of ``request`` on a thread pool of ``max_workers``.

    Raises :class:`CredentialsError` for missing credentials (or credentials that every
    region rejects) and :class:`CapacityError` when the endpoint cannot be reached.
    """
    observer.clients.check_credentials()
    regions = list(request.regions)
    workers = max(1, min(max_workers, len(regions)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="capacity") as pool:
        futures = {region: pool.submit(_guarded, observer, request, region) for region in regions}
        try:
            observations = {region: future.result() for region, future in futures.items()}
        except BaseException:
            for future in futures.values():
                future.cancel()
            raise
    _check_not_all_rejected(observations.values())
    return observations


def _guarded(observer: Observer, request: CapacityRequest, region: str) -> RegionObservation:
    try:
        return observer.observe(request, region)
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise CredentialsError(f"no usable AWS credentials ({exc}); {CREDENTIALS_HELP}") from None
    except (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError, ReadTimeoutError) as exc:
        endpoint = observer.clients.endpoint_url
        hint = (
            f"check --endpoint-url / AWS_ENDPOINT_URL ({endpoint})"
            if endpoint
            else "check your network connection or proxy settings"
        )
        raise CapacityError(f"cannot reach AWS for {region}: {exc}; {hint}") from None


def _check_not_all_rejected(observations: Iterable[RegionObservation]) -> None:
    failures = [o.failure for o in observations]
    if len(failures) > 1 and all(
        f is not None and f.code in {"AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId"}
        for f in failures
    ):
        raise CredentialsError(
            f"AWS rejected the credentials in all {len(failures)} regions asked; they are invalid or "
            f"expired (or none of these regions is enabled); {CREDENTIALS_HELP}"
        )


def plan_capacity(
    request: CapacityRequest,
    clients: ClientFactory,
    *,
    on_demand_price: OnDemandPrice = no_on_demand_prices,
    retry: RetryPolicy | None = None,
    max_workers: int = 4,
    clock: Callable[[], datetime] | None = None,
) -> CapacityReport:
    """Asks AWS about every region of ``request`` and ranks them (see
    :func:`llmops.capacity.planner.evaluate`)."""
    observer = Observer(
        clients=clients,
        retry=retry or RetryPolicy(),
        clock=clock or (lambda: datetime.now(UTC)),
    )
    observations = observe_regions(request, observer, max_workers=max_workers)
    return evaluate(request, observations, on_demand_price)


def catalogue_on_demand_prices() -> OnDemandPrice:
    """On-demand prices from the project's price catalogue (None where it has none).

    Uses :mod:`core.catalog.prices` when it is available, else reads the ``ec2.onDemand``
    table of the packaged ``prices.json`` directly.
    """
    from core.errors import LlmopsError

    try:
        from core.catalog.prices import load_prices
    except ImportError:
        return _packaged_on_demand_table()
    try:
        prices = load_prices()
    except LlmopsError:
        return no_on_demand_prices

    def lookup(region: str, instance_type: str) -> float | None:
        try:
            return prices.on_demand_hourly(region, instance_type)
        except LlmopsError:
            return None

    return lookup


def _packaged_on_demand_table() -> OnDemandPrice:
    import json
    from importlib import resources

    try:
        text = resources.files("core.catalog").joinpath("data", "prices.json").read_text(encoding="utf-8")
        table = json.loads(text)["ec2"]["onDemand"]
    except (OSError, ValueError, KeyError, TypeError):
        return no_on_demand_prices

    def lookup(region: str, instance_type: str) -> float | None:
        price = table.get(region, {}).get(instance_type)
        return float(price) if price is not None else None

    return lookup


__all__ = [
    "THROTTLING_CODES",
    "TRANSIENT_CODES",
    "ClientFactory",
    "Observer",
    "RetryPolicy",
    "ThrottledError",
    "catalogue_on_demand_prices",
    "client_config",
    "error_code",
    "observe_regions",
    "plan_capacity",
]
