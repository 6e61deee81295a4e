"""The security pack: its name and every policy it serves, one factory per policy."""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import EnforcementLevel, Policy

from policies.common import server
from policies.security import (
    cluster,
    compute,
    conflicts,
    credentials,
    database,
    dns,
    encryption,
    exposure,
    identity,
    loadbalancing,
    network,
    observability,
    registry,
    resilience,
    storage,
    transit,
)

NAME = "llmops-security"
DESCRIPTION = (
    "Security guardrails for the llmops platform on AWS: encryption, exposure, IAM, secrets, logging, "
    "node hardening, load balancers, DNS, prod resilience."
)

FACTORIES: tuple[Callable[[], Policy], ...] = (
    encryption.kms_encryption_at_rest,
    encryption.kms_key_rotation,
    encryption.kms_key_policy_defined,
    encryption.kms_key_enabled,
    transit.tls_in_transit,
    storage.s3_bucket_baseline,
    exposure.no_public_resource_policies,
    network.no_public_data_stores,
    network.no_public_ingress,
    network.no_public_ip,
    network.vpc_baseline,
    network.security_group_descriptions,
    cluster.eks_endpoint_restricted,
    cluster.eks_control_plane_logging,
    cluster.eks_supported_version,
    compute.imdsv2_required,
    compute.imds_hop_limit,
    identity.iam_no_wildcard_actions,
    identity.iam_no_admin,
    identity.iam_no_privilege_escalation,
    identity.iam_no_unscoped_sensitive_actions,
    identity.iam_trust_policy_restricted,
    credentials.no_plaintext_secrets,
    credentials.secrets_rotation,
    database.rds_tls_required,
    database.rds_query_logging,
    database.rds_baseline,
    database.data_store_authentication,
    database.auto_minor_version_upgrade,
    registry.ecr_repository_baseline,
    loadbalancing.load_balancer_tls,
    loadbalancing.load_balancer_baseline,
    loadbalancing.waf_on_public_load_balancers,
    dns.route53_no_dangling_records,
    observability.log_group_retention,
    observability.log_group_kms_in_prod,
    observability.access_logging,
    observability.monitoring_enabled,
    resilience.deletion_protection,
    resilience.backups,
    resilience.high_availability,
    conflicts.no_exclusive_management_conflicts,
)


def policies() -> list[Policy]:
    """A fresh instance of every policy in the pack."""
    return [factory() for factory in FACTORIES]


def serve() -> None:
    """Serves the pack's analyzer over gRPC (prints the port; blocks). What ``__main__`` runs."""
    server.serve(NAME, DESCRIPTION, policies(), EnforcementLevel.MANDATORY)
