"""Turning what the user typed into a request: instance types or an accelerator and a GPU
count resolved through the catalogue, region names checked, and the Service Quotas code
that limits each instance family."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core import catalog
from llmops.capacity.errors import CapacityUsageError
from llmops.capacity.models import Candidate, CapacityType

DEFAULT_REGIONS: tuple[str, ...] = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "eu-north-1",
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-2",
    "sa-east-1",
)
"""Regions asked when neither ``--regions`` nor ``--stack`` is given: the commercial regions
where AWS has historically offered the most GPU families."""

# EC2 vCPU quotas by (quota group, capacity type): (code, name).
QUOTAS: dict[tuple[str, CapacityType], tuple[str, str]] = {
    ("G", "on-demand"): ("L-DB2E81BA", "Running On-Demand G and VT instances"),
    ("P", "on-demand"): ("L-417A185B", "Running On-Demand P instances"),
    ("G", "spot"): ("L-3819A6DF", "All G and VT Spot Instance Requests"),
    ("P", "spot"): ("L-7212CCBC", "All P Spot Instance Requests"),
}


def quota_for(instance_type: str, capacity_type: CapacityType) -> tuple[str, str] | None:
    """The (code, name) of the EC2 vCPU quota that limits ``instance_type``, if one is known.

    G and VT quotas cover the ``g*`` families (g4dn, g5, g6, g6e, gr6); P quotas the ``p*``
    families (p3, p4d, p5, ...).
    """
    family = instance_type.split(".", 1)[0]
    if family.startswith("g"):
        return QUOTAS[("G", capacity_type)]
    if family.startswith("p"):
        return QUOTAS[("P", capacity_type)]
    return None


def _candidate(name: str) -> Candidate:
    spec = catalog.instance_types()[name]
    return Candidate(
        instance_type=name,
        gpus=spec.accelerator_count,
        accelerator_model=str(spec.accelerator_model),
        vcpus=spec.vcpu,
    )


def resolve_instance_types(names: Sequence[str]) -> tuple[Candidate, ...]:
    """Candidates for explicitly named instance types (NVIDIA GPU types only)."""
    known = catalog.instance_types()
    gpu_types = catalog.gpu_instance_types()
    result: list[Candidate] = []
    fix = "pass an NVIDIA GPU type such as g5.xlarge, g6.xlarge, g6e.xlarge or p5.48xlarge, or use --accelerator A10G --gpus 1"
    for name in names:
        try:
            catalog.check_instance_type(name, fix=fix, hints=gpu_types)
        except catalog.UnknownInstanceTypeError as exc:
            raise CapacityUsageError(str(exc)) from None
        spec = known.get(name)
        if spec is None:
            raise CapacityUsageError(
                f"'{name}' is an EC2 instance type the instance catalogue has no specifications for (GPU model "
                f"and count); {fix}"
            )
        if not spec.is_nvidia_gpu:
            what = f"an AWS {spec.accelerator_model} (Neuron) instance" if spec.accelerator == "neuron" else "a CPU instance"
            raise CapacityUsageError(
                f"'{name}' is {what}, not an NVIDIA GPU type; GPU pools run types such as "
                "g5.xlarge, g6.xlarge or p5.48xlarge"
            )
        if name not in {c.instance_type for c in result}:
            result.append(_candidate(name))
    if not result:
        raise CapacityUsageError("no instance type given; pass --instance-type g5.xlarge or --accelerator A10G")
    return tuple(result)


def accelerator_models() -> dict[str, str]:
    """NVIDIA accelerator models in the catalogue, by upper-case name -> catalogue spelling."""
    return {
        str(t.accelerator_model).upper(): str(t.accelerator_model)
        for t in catalog.gpu_instance_types().values()
    }


def resolve_accelerator(accelerator: str, gpus: int) -> tuple[Candidate, ...]:
    """Candidates with exactly ``gpus`` GPUs of model ``accelerator`` (case-insensitive),
    smallest (fewest vCPUs) first."""
    if gpus < 1:
        raise CapacityUsageError(f"--gpus must be at least 1 (got {gpus})")
    models = accelerator_models()
    model = models.get(accelerator.strip().upper())
    if model is None:
        neuron = {
            str(t.accelerator_model).upper()
            for t in catalog.instance_types().values()
            if t.accelerator == "neuron"
        }
        if accelerator.strip().upper() in neuron:
            raise CapacityUsageError(
                f"'{accelerator}' is an AWS Neuron accelerator, not an NVIDIA GPU; GPU pools run "
                f"NVIDIA GPUs: {', '.join(sorted(models.values()))}"
            )
        hint = catalog.closest_names(accelerator.strip().upper(), sorted(models))
        raise CapacityUsageError(
            f"unknown accelerator '{accelerator}'"
            + (f" (did you mean {', '.join(models[h] for h in hint)}?)" if hint else "")
            + f"; known NVIDIA GPUs: {', '.join(sorted(models.values()))}"
        )
    of_model = [t for t in catalog.gpu_instance_types().values() if t.accelerator_model == model]
    matching = sorted((t for t in of_model if t.accelerator_count == gpus), key=lambda t: (t.vcpu, t.name))
    if not matching:
        counts = sorted({t.accelerator_count for t in of_model})
        examples = ", ".join(
            f"{n} ({min(t.name for t in of_model if t.accelerator_count == n)})" for n in counts
        )
        raise CapacityUsageError(
            f"no instance type has exactly {gpus} x {model}; {model} comes with {examples} GPU(s) "
            f"per instance; pass one of those counts with --gpus"
        )
    return tuple(_candidate(t.name) for t in matching)


def resolve_regions(names: Iterable[str]) -> tuple[str, ...]:
    """Checked, de-duplicated region codes (order kept); accepts comma-separated items."""
    known = catalog.regions()
    result: list[str] = []
    problems: list[str] = []
    for item in names:
        for name in (part.strip() for part in item.split(",")):
            if not name:
                continue
            if name not in known:
                hint = catalog.closest_names(name, sorted(known))
                problems.append(f"'{name}'" + (f" (did you mean {', '.join(hint)}?)" if hint else ""))
            elif name not in result:
                result.append(name)
    if problems:
        raise CapacityUsageError(
            f"unknown AWS region {', '.join(problems)}; use region codes such as us-east-1,us-west-2"
        )
    if not result:
        raise CapacityUsageError("no regions to ask; pass --regions us-east-1,us-west-2 or --stack NAME")
    return tuple(result)
