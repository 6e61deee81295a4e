"""Secrets handling: credentials never sit in plain configuration (ConfigMaps, SSM String
parameters, database master passwords) or in plain environment values (containers, Lambda,
ECS); they come from Secrets Manager, SecureString parameters or Kubernetes Secrets."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from policies.common.props import decode, get, items, mapping
from policies.common.settings import Setting, config_schema, resolve

SECRET_WORDS = Setting(
    "secretWords",
    {"type": "array", "items": {"type": "string"}},
    ["password", "passwd", "pwd", "secret", "token", "apikey", "api-key", "access-key", "private-key", "credential", "credentials"],
    "Words that mark a name as a secret; 'a-b' means the words a and b next to each other (API_KEY, apiKey).",
)
ALLOWED_NAMES = Setting(
    "allowedNames",
    {"type": "array", "items": {"type": "string"}},
    [],
    "Names that look secret but are not (e.g. TOKEN_BUDGET); matched case-insensitively.",
)

# Values that are credentials whatever they are called.
SECRET_VALUE = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|\bhf_[A-Za-z]{30,}"  # Hugging Face tokens
    r"|\bsk-[A-Za-z0-9_\-]{20,}"  # OpenAI-style API keys
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack tokens
)
REFERENCE_SUFFIXES = frozenset({"arn", "name", "path", "file", "ref", "url", "uri", "dir"})
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def name_words(name: str) -> list[str]:
    """``OPENAI_API_KEY`` / ``openaiApiKey`` -> ``['openai', 'api', 'key']``."""
    return [w.lower() for w in _WORD.findall(name)]


def looks_secret(name: str, words: Sequence[str], allowed: Sequence[str]) -> bool:
    """Whether ``name`` names a secret (one of ``words``, or a hyphenated pair of them)."""
    if name.lower() in {a.lower() for a in allowed}:
        return False
    parts = name_words(name)
    if parts and parts[-1] in REFERENCE_SUFFIXES:
        return False  # DB_SECRET_ARN, TOKEN_FILE: a pointer to a secret, not the secret
    joined = {"".join(parts[i : i + 2]) for i in range(len(parts))} | {"-".join(parts[i : i + 2]) for i in range(len(parts) - 1)}
    return any(w.lower() in parts or w.lower() in joined for w in words)


def _env_lists(value: Any, depth: int = 0) -> Iterator[Sequence[Any]]:
    """Every Kubernetes container ``env`` list anywhere under ``value`` (pod templates in
    Deployments, Jobs, RayService worker groups, ...)."""
    if depth > 24:
        return
    if isinstance(value, Mapping):
        for key, child in value.items():
            if key == "env" and isinstance(child, Sequence) and not isinstance(child, str):
                yield child
            elif isinstance(child, Mapping | Sequence) and not isinstance(child, str):
                yield from _env_lists(child, depth + 1)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for child in value:
            if isinstance(child, Mapping | Sequence) and not isinstance(child, str):
                yield from _env_lists(child, depth + 1)


def _yaml(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _named_values(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str, Any, str]]:
    """(kind, name, value, fix) for each plain named value the resource carries."""
    if resource_type == "kubernetes:core/v1:ConfigMap":
        for key, value in mapping(props.get("data")).items():
            yield "ConfigMap key", str(key), value, "move it to a Kubernetes Secret (or External Secrets) and mount that"
    elif resource_type.startswith("kubernetes:") and resource_type != "kubernetes:core/v1:Secret":
        for env in _env_lists(props):
            for var in env:
                if isinstance(var, Mapping) and "value" in var:
                    yield "environment variable", str(var.get("name", "")), var.get("value"), "use valueFrom.secretKeyRef pointing at a Kubernetes Secret"
        serve_config = get(props, "spec", "serveConfigV2")
        if isinstance(serve_config, str):  # a RayService's Serve config (YAML text)
            for app in items(get(_yaml(serve_config), "applications")):
                for key, value in mapping(get(app, "runtime_env", "env_vars")).items():
                    yield "Serve runtime_env variable", str(key), value, "read it in the deployment from a mounted Kubernetes Secret or from Secrets Manager"
    elif resource_type == "aws:lambda/function:Function":
        for key, value in mapping(get(props, "environment", "variables")).items():
            yield "environment variable", str(key), value, "read it from Secrets Manager or SSM SecureString at runtime"
    elif resource_type == "aws:ecs/taskDefinition:TaskDefinition":
        for container in items(decode(props.get("containerDefinitions"))):
            for var in items(get(container, "environment")):
                if isinstance(var, Mapping):
                    yield "environment variable", str(var.get("name", "")), var.get("value"), "use the container definition's 'secrets' with a Secrets Manager ARN"


def validate_no_plaintext_secrets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No credential in plain configuration or environment values."""
    t = args.resource_type
    if not (t.startswith("kubernetes:") or t in _AWS_TYPES):
        return
    props = args.props
    if t in ("aws:rds/cluster:Cluster", "aws:rds/instance:Instance"):
        if props.get("masterPassword"):
            report_violation(
                f"'{args.name}' sets master_password, which lands in the Pulumi state and the stack config; set "
                "manage_master_user_password=True so RDS keeps the password in Secrets Manager.",
                None,
            )
        return
    settings = resolve(args, SECRET_WORDS, ALLOWED_NAMES)
    words, allowed = settings[SECRET_WORDS.name], settings[ALLOWED_NAMES.name]
    if t == "aws:ssm/parameter:Parameter":
        name = str(props.get("name") or args.name)
        if props.get("type") in ("String", "StringList") and looks_secret(name.rsplit("/", 1)[-1], words, allowed):
            report_violation(f"SSM parameter '{name}' looks like a secret but is stored as {props.get('type')}; use type='SecureString'.", None)
        return
    for kind, name, value, fix in _named_values(t, props):
        if not isinstance(value, str) or not value:
            continue
        if value.startswith("arn:"):
            continue
        if looks_secret(name, words, allowed) or SECRET_VALUE.search(value):
            report_violation(f"'{args.name}' has the {kind} '{name}' with a plain value; {fix}.", None)


_AWS_TYPES = frozenset(
    {
        "aws:rds/cluster:Cluster",
        "aws:rds/instance:Instance",
        "aws:ssm/parameter:Parameter",
        "aws:lambda/function:Function",
        "aws:ecs/taskDefinition:TaskDefinition",
    }
)


def no_plaintext_secrets() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="no-plaintext-secrets",
        description="Secrets are never kept in plain config or environment values.",
        validate=validate_no_plaintext_secrets,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_schema=config_schema(SECRET_WORDS, ALLOWED_NAMES),
        tags=["secrets"],
    )
