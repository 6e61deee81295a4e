"""Secrets handling.

``no-plaintext-secrets``: credentials never sit in plain configuration: ConfigMaps, SSM
String parameters, container/Lambda/ECS/Ray Serve environment values, EC2 user data, or the
password properties of databases, caches and search domains (which land in the Pulumi state
and the stack config). A value is a secret when its name says so (``DB_PASSWORD``,
``PGPASSWORD``, ``REDIS_AUTH``, ``openaiApiKey``) or when it has the shape of one whatever
its name (a database URL with a password, an AWS access key, ``sk_live_``/``AIza``/JWT
keys, a private key). Names of settings about secrets (``TOKEN_LIMIT``,
``PASSWORD_MIN_LENGTH``, ``AUTH_TOKEN_TTL_SECONDS``) and references to secrets
(``DB_SECRET_ID``, ``DB_SECRET_ARN``, ``TOKEN_FILE``) are not secrets.

``secrets-rotation``: every Secrets Manager secret rotates automatically, at least every
``maxRotationDays``.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.common.policy import ResourcePolicy, StackPolicy, short_type
from policies.common.props import decode, flag, get, items, mapping, number
from policies.common.settings import Setting, config_schema, resolve
from policies.common.stack import index, linked

SECRET_WORDS = Setting(
    "secretWords",
    {"type": "array", "items": {"type": "string"}},
    [
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "token",
        "auth",
        "apikey",
        "api-key",
        "access-key",
        "secret-key",
        "private-key",
        "client-secret",
        "credential",
        "credentials",
    ],
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
    r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key id
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|\bgithub_pat_[A-Za-z0-9_]{30,}"
    r"|\bglpat-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|\bhf_[A-Za-z]{30,}"  # Hugging Face
    r"|\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}"  # OpenAI / Anthropic API keys
    r"|\b[sr]k_live_[A-Za-z0-9]{16,}"  # Stripe secret and restricted keys
    r"|\bAIza[0-9A-Za-z_\-]{35}"  # Google API keys
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack tokens
    r"|\bnpm_[A-Za-z0-9]{36}"
    r"|\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"  # JWTs
    r"|\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:[^\s:/@]+@[^\s/]+"  # URLs with user:password (postgres://, redis://, amqp://)
    r"|\bAccountKey=[A-Za-z0-9+/=]{20,}"  # Azure storage connection strings
)
# Text that every match of SECRET_VALUE contains, one entry per alternative above (the URL
# one needs "://" and "@", checked apart): a value with none of them cannot match, and
# looking for them is far cheaper than the pattern on long values (Grafana dashboards in
# ConfigMaps, user data scripts). Keep in step with SECRET_VALUE.
SECRET_MARKERS = (
    "AKIA",
    "ASIA",
    "PRIVATE KEY-----",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "hf_",
    "sk-",
    "k_live_",
    "AIza",
    "xox",
    "npm_",
    "eyJ",
    "AccountKey=",
)
REFERENCE_SUFFIXES = frozenset(
    {
        "arn",
        "name",
        "path",
        "file",
        "ref",
        "url",
        "uri",
        "dir",
        "id",
        "ids",
        "key-id",
        "secret-id",
        "location",
        "endpoint",
        "host",
        "user",
        "username",
    }
)
SETTING_SUFFIXES = frozenset(
    {
        "limit",
        "limits",
        "length",
        "len",
        "ttl",
        "seconds",
        "secs",
        "ms",
        "minutes",
        "hours",
        "days",
        "size",
        "count",
        "max",
        "min",
        "timeout",
        "enabled",
        "disabled",
        "enable",
        "disable",
        "required",
        "policy",
        "type",
        "mode",
        "budget",
        "version",
        "rotation",
        "expiry",
        "expires",
        "duration",
        "interval",
        "format",
        "header",
        "prefix",
        "suffix",
        "source",
        "provider",
        "kind",
        "strategy",
        "algorithm",
        "encoding",
        "method",
        "scheme",
        "scope",
        "scopes",
        "audience",
        "issuer",
        "regex",
        "pattern",
        "rules",
        "level",
        "store",
        "backend",
        "lifetime",
        "age",
    }
)
_COMPOUND_WORDS = ("password", "passwd", "secret", "apikey", "privatekey")
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_PLAIN_SETTING = re.compile(
    r"^(true|false|yes|no|on|off|none|null|-?\d+(\.\d+)?[a-z]*)$", re.IGNORECASE
)
_PATH = re.compile(r"^(/[\w.@-]+)+/?$")  # /run/secrets/db, /app: where a secret is, not the secret
_ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+|set\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*['\"]?([^'\"\s#]+)", re.MULTILINE
)


def name_words(name: str) -> list[str]:
    """``OPENAI_API_KEY`` / ``openaiApiKey`` -> ``['openai', 'api', 'key']``."""
    return [w.lower() for w in _WORD.findall(name)]


def looks_secret(name: str, words: Sequence[str], allowed: Sequence[str]) -> bool:
    """Whether ``name`` names a secret (one of ``words``, a hyphenated pair of them, or a
    word ending in a secret word: ``PGPASSWORD``), and not a setting about secrets or a
    reference to one."""
    if name.lower() in {a.lower() for a in allowed}:
        return False
    parts = name_words(name)
    if not parts:
        return False
    last_two = "-".join(parts[-2:])
    if (
        parts[-1] in REFERENCE_SUFFIXES
        or last_two in REFERENCE_SUFFIXES
        or parts[-1] in SETTING_SUFFIXES
    ):
        return False  # DB_SECRET_ARN, TOKEN_FILE, PASSWORD_MIN_LENGTH, AUTH_TOKEN_TTL_SECONDS
    joined = {"".join(parts[i : i + 2]) for i in range(len(parts))} | {
        "-".join(parts[i : i + 2]) for i in range(len(parts) - 1)
    }
    wanted = {w.lower() for w in words}
    if any(w in parts or w in joined for w in wanted):
        return True
    return any(
        p.endswith(c) and c in {w.replace("-", "") for w in wanted}
        for p in parts
        for c in _COMPOUND_WORDS
    )


def secret_shaped(value: str) -> bool:
    """Whether ``value`` contains something shaped like a credential."""
    if not (any(marker in value for marker in SECRET_MARKERS) or ("://" in value and "@" in value)):
        return False
    return bool(SECRET_VALUE.search(value))


def plain_setting(value: str) -> bool:
    """Booleans, numbers, durations and file paths: values no secret takes."""
    text = value.strip()
    return bool(_PLAIN_SETTING.match(text) or _PATH.match(text))


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

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser, where PyYAML has it
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError:
        return None


def user_data_text(value: Any, encoded: bool) -> str:
    """User data as text (base64 decoded when ``encoded`` and it decodes to UTF-8)."""
    if not isinstance(value, str):
        return ""
    if encoded:
        try:
            return base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return value
    return value


def _user_data(resource_type: str, props: Mapping[str, Any]) -> str:
    if resource_type == "aws:ec2/launchTemplate:LaunchTemplate":
        return user_data_text(props.get("userData"), encoded=True)
    if resource_type == "aws:ec2/instance:Instance":
        return (
            user_data_text(props.get("userData"), encoded=False)
            + "\n"
            + user_data_text(props.get("userDataBase64"), encoded=True)
        )
    if resource_type == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass":
        return user_data_text(get(props, "spec", "userData"), encoded=False)
    return ""


_USER_DATA_FIX = "fetch it at boot from Secrets Manager or SSM SecureString with the node role, never bake it into user data (readable by anyone with ec2:DescribeInstanceAttribute)"


def _named_values(
    resource_type: str, props: Mapping[str, Any]
) -> Iterator[tuple[str, str, Any, str]]:
    """(kind, name, value, fix) for each plain named value the resource carries."""
    if resource_type == "kubernetes:core/v1:ConfigMap":
        for key, value in mapping(props.get("data")).items():
            yield (
                "ConfigMap key",
                str(key),
                value,
                "move it to a Kubernetes Secret (or External Secrets) and mount that",
            )
    elif resource_type == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass":
        yield from _user_data_values(_user_data(resource_type, props))
    elif resource_type.startswith("kubernetes:") and resource_type != "kubernetes:core/v1:Secret":
        for env in _env_lists(props):
            for var in env:
                if isinstance(var, Mapping) and "value" in var:
                    yield (
                        "environment variable",
                        str(var.get("name", "")),
                        var.get("value"),
                        "use valueFrom.secretKeyRef pointing at a Kubernetes Secret",
                    )
        serve_config = get(props, "spec", "serveConfigV2")
        if isinstance(serve_config, str):  # a RayService's Serve config (YAML text)
            for app in items(get(_yaml(serve_config), "applications")):
                for key, value in mapping(get(app, "runtime_env", "env_vars")).items():
                    yield (
                        "Serve runtime_env variable",
                        str(key),
                        value,
                        "read it in the deployment from a mounted Kubernetes Secret or from Secrets Manager",
                    )
    elif resource_type == "aws:lambda/function:Function":
        for key, value in mapping(get(props, "environment", "variables")).items():
            yield (
                "environment variable",
                str(key),
                value,
                "read it from Secrets Manager or SSM SecureString at runtime",
            )
    elif resource_type == "aws:ecs/taskDefinition:TaskDefinition":
        for container in items(decode(props.get("containerDefinitions"))):
            for var in items(get(container, "environment")):
                if isinstance(var, Mapping):
                    yield (
                        "environment variable",
                        str(var.get("name", "")),
                        var.get("value"),
                        "use the container definition's 'secrets' with a Secrets Manager ARN",
                    )
    elif resource_type in ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance"):
        yield from _user_data_values(_user_data(resource_type, props))


def _user_data_values(text: str) -> Iterator[tuple[str, str, Any, str]]:
    if not text.strip():
        return
    for match in _ASSIGNMENT.finditer(text):
        yield "user data variable", match.group(1), match.group(2), _USER_DATA_FIX
    if secret_shaped(text):
        yield "user data", "(script)", text, _USER_DATA_FIX


# Properties that hold a password or token in plain configuration; each lands in the
# Pulumi state and the stack config.
PASSWORD_PROPS: dict[str, tuple[tuple[str, ...], str]] = {
    "aws:rds/cluster:Cluster": (
        ("masterPassword",),
        "set manage_master_user_password=True so RDS keeps the password in Secrets Manager",
    ),
    "aws:rds/instance:Instance": (
        ("password",),
        "set manage_master_user_password=True so RDS keeps the password in Secrets Manager",
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        ("authToken",),
        "authenticate with user_group_ids (ElastiCache RBAC, IAM users), or pass the token as auth_token_wo, which Pulumi does not store",
    ),
    "aws:opensearch/domain:Domain": (
        ("advancedSecurityOptions", "masterUserOptions", "masterUserPassword"),
        "use an IAM master user (advanced_security_options.master_user_options.master_user_arn)",
    ),
}

_AWS_TYPES = frozenset(
    {
        *PASSWORD_PROPS,
        "aws:ssm/parameter:Parameter",
        "aws:lambda/function:Function",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/instance:Instance",
    }
)


def plaintext_secret_problems(
    resource_type: str, props: Mapping[str, Any], words: Sequence[str], allowed: Sequence[str]
) -> list[str]:
    """What is secret and in plain sight in one resource, each with its fix."""
    problems: list[str] = []
    if resource_type in PASSWORD_PROPS:
        path, fix = PASSWORD_PROPS[resource_type]
        if get(props, *path):
            problems.append(
                f"sets {'.'.join(path)}, which lands in the Pulumi state and the stack config; {fix}"
            )
        return problems
    if resource_type == "aws:ssm/parameter:Parameter":
        name = str(props.get("name") or "")
        if props.get("type") in ("String", "StringList"):
            value = props.get("value")
            if looks_secret(name.rsplit("/", 1)[-1], words, allowed) or (
                isinstance(value, str) and secret_shaped(value)
            ):
                problems.append(
                    f"SSM parameter '{name}' looks like a secret but is stored as {props.get('type')}; use type='SecureString'"
                )
        return problems
    seen: set[tuple[str, str]] = set()
    for kind, name, value, fix in _named_values(resource_type, props):
        if not isinstance(value, str) or not value or (kind, name) in seen:
            continue
        if value.startswith(("arn:", "$(", "${", "{{resolve:")):
            continue  # a reference, resolved at runtime
        if (looks_secret(name, words, allowed) and not plain_setting(value)) or secret_shaped(
            value
        ):
            seen.add((kind, name))
            what = (
                f"the {kind} '{name}'"
                if kind != "user data"
                else "user data with a credential in it"
            )
            problems.append(f"has {what} with a plain value; {fix}")
    return problems


def validate_no_plaintext_secrets(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """No credential in plain configuration, environment values, user data or password properties."""
    t = args.resource_type
    if not (t.startswith("kubernetes:") or t in _AWS_TYPES):
        return
    settings = resolve(args, SECRET_WORDS, ALLOWED_NAMES)
    for problem in plaintext_secret_problems(
        t, args.props, settings[SECRET_WORDS.name], settings[ALLOWED_NAMES.name]
    ):
        subject = "" if problem.startswith("SSM parameter") else f"'{args.name}' "
        report_violation(f"{subject}{problem}.", None)


def no_plaintext_secrets() -> ResourcePolicy:
    return ResourcePolicy(
        name="no-plaintext-secrets",
        description="Secrets are never kept in plain config, environment values, user data or password properties.",
        validate=validate_no_plaintext_secrets,
        resource_types=[*_AWS_TYPES, "kubernetes:*"],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_schema=config_schema(SECRET_WORDS, ALLOWED_NAMES),
        tags=["secrets"],
    )


# --------------------------------------------------------------------------- rotation

SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"

MAX_ROTATION_DAYS = Setting(
    "maxRotationDays",
    {"type": "integer", "minimum": 1, "maximum": 365},
    90,
    "Longest time between automatic rotations of a Secrets Manager secret, in days.",
)
EXEMPT_SECRETS = Setting(
    "exemptResourceNames",
    {"type": "array", "items": {"type": "string"}},
    [],
    "Pulumi names of secrets that cannot rotate automatically (e.g. a third party's API key rotated by hand); "
    "shell-style patterns such as '*-cache-gcs-auth' match every region's copy.",
)
_SCHEDULE_DAYS = re.compile(r"rate\(\s*(\d+)\s*days?\s*\)", re.IGNORECASE)


def _interval_days(rotation: PolicyResource) -> float | None:
    rules = mapping(rotation.props.get("rotationRules"))
    days = number(rules.get("automaticallyAfterDays"))
    if days is not None:
        return days
    expression = rules.get("scheduleExpression")
    if isinstance(expression, str):
        match = _SCHEDULE_DAYS.search(expression)
        if match:
            return float(match.group(1))
        if expression.strip().lower().startswith("cron("):
            return None  # a cron schedule: at least monthly in practice, trusted
    return None


def validate_secrets_rotation(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every Secrets Manager secret has automatic rotation within the configured interval."""
    settings = resolve(args, MAX_ROTATION_DAYS, EXEMPT_SECRETS)
    limit = int(settings[MAX_ROTATION_DAYS.name])
    exempt = set(settings[EXEMPT_SECRETS.name])
    secrets = index(args.resources, [SECRET], keys=("id", "arn", "name"))
    rotations: dict[str, list[PolicyResource]] = {}
    for r in args.resources:
        if r.resource_type == ROTATION:
            for secret in linked(r, "secretId", [SECRET], secrets):
                rotations.setdefault(secret.urn, []).append(r)
    for secret in (r for r in args.resources if r.resource_type == SECRET):
        if any(fnmatch.fnmatchcase(secret.name, pattern) for pattern in exempt):
            continue
        found = rotations.get(secret.urn, [])
        if not found:
            report_violation(
                f"secret '{secret.name}' never rotates; add aws.secretsmanager.SecretRotation(secret_id=..., "
                f"rotation_lambda_arn=..., rotation_rules={{'automatically_after_days': {limit}}}) (RDS-managed "
                "passwords rotate by themselves: prefer manage_master_user_password), or list the secret in "
                "exemptResourceNames if it can only be rotated by hand.",
                secret.urn,
            )
            continue
        for rotation in found:
            if flag(rotation.props.get("rotationEnabled")) is False:
                report_violation(
                    f"secret '{secret.name}': {short_type(rotation.resource_type)} '{rotation.name}' turns rotation off; remove rotation_enabled=False.",
                    rotation.urn,
                )
                continue
            days = _interval_days(rotation)
            if days is not None and days > limit:
                report_violation(
                    f"secret '{secret.name}' rotates every {int(days)} days; set rotation_rules.automatically_after_days to at most {limit}.",
                    rotation.urn,
                )


def secrets_rotation() -> StackPolicy:
    return StackPolicy(
        name="secrets-rotation",
        description="Every Secrets Manager secret rotates automatically, at least every maxRotationDays.",
        validate=validate_secrets_rotation,
        resource_types=[SECRET, ROTATION],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(MAX_ROTATION_DAYS, EXEMPT_SECRETS),
        tags=["secrets"],
    )
