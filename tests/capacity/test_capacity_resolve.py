"""Resolving what the user typed: instance types, accelerators and GPU counts, regions,
quota codes."""

from __future__ import annotations

import pytest

from llmops.capacity import (
    CapacityUsageError,
    quota_for,
    resolve_accelerator,
    resolve_instance_types,
    resolve_regions,
)


def test_accelerator_resolves_to_every_type_with_that_gpu_count_smallest_first() -> None:
    candidates = resolve_accelerator("A10G", 1)
    assert [c.instance_type for c in candidates] == [
        "g5.xlarge",
        "g5.2xlarge",
        "g5.4xlarge",
        "g5.8xlarge",
        "g5.16xlarge",
    ]
    assert {(c.gpus, c.accelerator_model) for c in candidates} == {(1, "A10G")}
    assert [c.vcpus for c in candidates] == [4, 8, 16, 32, 64]


def test_accelerator_is_case_insensitive_and_gpu_count_selects_sizes() -> None:
    assert [c.instance_type for c in resolve_accelerator("l40s", 4)] == ["g6e.12xlarge", "g6e.24xlarge"]
    assert [c.instance_type for c in resolve_accelerator("h100", 8)] == ["p5.48xlarge"]
    assert [(c.instance_type, c.vcpus) for c in resolve_accelerator("A100", 8)] == [
        ("p4d.24xlarge", 96),
        ("p4de.24xlarge", 96),
    ]


def test_gpu_count_that_no_type_has_lists_the_counts_that_exist() -> None:
    with pytest.raises(CapacityUsageError) as info:
        resolve_accelerator("H100", 2)
    message = str(info.value)
    assert "no instance type has exactly 2 x H100" in message
    assert "1 (p5.4xlarge), 8 (p5.48xlarge)" in message


def test_unknown_accelerator_suggests_the_closest_model() -> None:
    with pytest.raises(CapacityUsageError) as info:
        resolve_accelerator("A10", 1)
    assert "unknown accelerator 'A10' (did you mean A10G" in str(info.value)
    assert "known NVIDIA GPUs: A100, A10G, H100, H200, L4, L40S, T4, V100" in str(info.value)


def test_neuron_accelerator_is_refused_as_not_a_gpu() -> None:
    with pytest.raises(CapacityUsageError, match="'Inferentia2' is an AWS Neuron accelerator, not an NVIDIA GPU"):
        resolve_accelerator("Inferentia2", 1)


def test_unknown_instance_type_suggests_close_gpu_types() -> None:
    with pytest.raises(CapacityUsageError) as info:
        resolve_instance_types(["g5.xlarg"])
    assert "unknown instance type 'g5.xlarg' (did you mean g5.xlarge" in str(info.value)
    assert info.value.exit_code == 2


def test_cpu_and_neuron_instance_types_are_refused() -> None:
    with pytest.raises(CapacityUsageError, match=r"'m5\.large' is a CPU instance, not an NVIDIA GPU type"):
        resolve_instance_types(["m5.large"])
    with pytest.raises(CapacityUsageError, match=r"'inf2\.xlarge' is an AWS Inferentia2 \(Neuron\) instance"):
        resolve_instance_types(["inf2.xlarge"])


def test_instance_types_keep_order_and_drop_duplicates() -> None:
    candidates = resolve_instance_types(["g6.xlarge", "g5.12xlarge", "g6.xlarge"])
    assert [(c.instance_type, c.gpus, c.vcpus) for c in candidates] == [("g6.xlarge", 1, 4), ("g5.12xlarge", 4, 48)]


def test_regions_accept_commas_drop_duplicates_and_reject_unknown_with_hints() -> None:
    assert resolve_regions(["us-east-1,eu-west-1", "us-east-1", " us-west-2 "]) == ("us-east-1", "eu-west-1", "us-west-2")
    with pytest.raises(CapacityUsageError) as info:
        resolve_regions(["us-east-1,us-eats-2"])
    assert "unknown AWS region 'us-eats-2' (did you mean us-east-2" in str(info.value)


@pytest.mark.parametrize(
    ("instance_type", "capacity", "code"),
    [
        ("g5.xlarge", "on-demand", "L-DB2E81BA"),
        ("g6e.12xlarge", "spot", "L-3819A6DF"),
        ("p5.48xlarge", "on-demand", "L-417A185B"),
        ("p4d.24xlarge", "spot", "L-7212CCBC"),
    ],
)
def test_quota_code_follows_family_and_capacity_type(instance_type: str, capacity: str, code: str) -> None:
    found = quota_for(instance_type, capacity)  # type: ignore[arg-type]
    assert found is not None and found[0] == code
