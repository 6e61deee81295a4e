"""Names shared by every component."""

from __future__ import annotations

from collections.abc import Mapping

TYPE_PREFIX = "llmops"
"""Package part of every component type token (``llmops:<module>:<Type>``)."""


def cluster_name(project: str, stack: str, region: str) -> str:
    """The EKS cluster name of a region (also used in subnet discovery tags); <= 100 chars."""
    short_project = project.removesuffix("-platform")
    return f"{short_project}-{stack}-{region}"[:100]


def name_tags(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """``tags`` plus the ``Name`` tag the console shows: the resource's logical name."""
    return {**tags, "Name": name}
