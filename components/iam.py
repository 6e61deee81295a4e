"""IAM policy documents as the components write them (JSON text, version 2012-10-17)."""

from __future__ import annotations

import json
from typing import Any


def policy_json(*statements: dict[str, Any]) -> str:
    """A policy document with ``statements``."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def deny_without_tls(action: str, resource: str | list[str], sid: str = "DenyInsecureTransport") -> dict[str, Any]:
    """Statement of a resource policy: every request over plain HTTP is refused, whoever makes
    it (``aws:SecureTransport`` false)."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def assume_role_policy(service: str, *, session_tags: bool = False) -> str:
    """Trust policy letting an AWS service assume the role (with ``sts:TagSession`` for
    EKS Pod Identity, which passes session tags)."""
    actions: str | list[str] = ["sts:AssumeRole", "sts:TagSession"] if session_tags else "sts:AssumeRole"
    return policy_json({"Effect": "Allow", "Principal": {"Service": service}, "Action": actions})
