"""IAM policy documents as the components write them (JSON text, version 2012-10-17)."""

from __future__ import annotations

import json
from typing import Any


def policy_json(*statements: dict[str, Any]) -> str:
    """A policy document with ``statements``."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str, *, session_tags: bool = False) -> str:
    """Trust policy letting an AWS service assume the role (with ``sts:TagSession`` for
    EKS Pod Identity, which passes session tags)."""
    actions: str | list[str] = ["sts:AssumeRole", "sts:TagSession"] if session_tags else "sts:AssumeRole"
    return policy_json({"Effect": "Allow", "Principal": {"Service": service}, "Action": actions})
