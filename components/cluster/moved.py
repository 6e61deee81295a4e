"""Where the children of GpuCluster's parts lived before the parts existed.

Karpenter, the GPU node groups, cluster-autoscaler and the GPU software were created as
direct children of :class:`~components.cluster.GpuCluster`. Now each is a part (a component
of its own under GpuCluster), and every child carries an alias to the URN it had directly
under GpuCluster (under its old name where it was renamed), so ``pulumi up`` on a stack
deployed before moves the resources and replaces none. An alias to a URN a stack never had
is ignored.
"""

from __future__ import annotations

from typing import Any

import pulumi


def child_options(
    part: pulumi.Resource, former_parent: pulumi.Resource | None, former_name: str | None = None, **kwargs: Any
) -> pulumi.ResourceOptions:
    """Options of a child of ``part``, aliased to the URN it had under ``former_parent``
    (named ``former_name`` there, when it had another name)."""
    aliases: list[pulumi.Input[str] | pulumi.Alias] = []
    if former_parent is not None:
        aliases.append(pulumi.Alias(parent=former_parent) if former_name is None else pulumi.Alias(name=former_name, parent=former_parent))
    return pulumi.ResourceOptions(parent=part, aliases=aliases, **kwargs)


def former_name(part_name: str, part_role: str, role: str) -> str:
    """The name a child had directly under GpuCluster: ``{cluster}-{role}``, where the part
    is named ``{cluster}-{part_role}`` (e.g. ``us-east-1-nodepool-a10g`` for the ``a10g``
    NodePool of ``us-east-1-karpenter``)."""
    return f"{part_name.removesuffix(f'-{part_role}')}-{role}"
