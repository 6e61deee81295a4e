"""The security pack: its name and every policy it serves, one factory per policy."""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import EnforcementLevel, Policy, PolicyPack

from policies.security import (
    cluster,
    compute,
    credentials,
    encryption,
    identity,
    network,
    resilience,
    storage,
    transit,
)

NAME = "llmops-security"
DESCRIPTION = "Security guardrails for the llmops platform on AWS: encryption, exposure, IAM, secrets, node hardening, prod resilience."

FACTORIES: tuple[Callable[[], Policy], ...] = (
    encryption.kms_encryption_at_rest,
    encryption.kms_key_rotation,
    transit.tls_in_transit,
    storage.s3_bucket_baseline,
    network.no_public_data_stores,
    network.no_public_ingress,
    cluster.eks_endpoint_restricted,
    cluster.eks_control_plane_logging,
    compute.imdsv2_required,
    identity.iam_no_wildcard_actions,
    identity.iam_no_inline_admin,
    credentials.no_plaintext_secrets,
    resilience.deletion_protection,
    resilience.backups,
)


def policies() -> list[Policy]:
    """A fresh instance of every policy in the pack."""
    return [factory() for factory in FACTORIES]


def serve() -> None:
    """Serves the pack's analyzer over gRPC (prints the port; blocks). What ``__main__`` runs."""
    PolicyPack(name=NAME, description=DESCRIPTION, policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
