"""Secrets at run time: values read from AWS Secrets Manager when a pod starts, never written
into a manifest, the serve config or the Pulumi plan.

On the cluster, an init container of every Ray pod runs::

    python -m serving.secrets_env --out /run/llmops/secrets/env

with ``LLMOPS_SECRETS_REF`` naming what to fetch: a JSON object of environment variable
name -> secret ARN, optionally ``#key`` to pick one key of a JSON secret::

    {"LLMOPS_PG_DSN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pg-dsn-AbCdEf",
     "REDIS_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gcs-AbCdEf#token"}

It reads each secret with the pod's own credentials (EKS Pod Identity: a role that may read
exactly these secrets) and writes ``NAME='value'`` lines to a file on a memory-backed volume,
readable by the pod's user only. The Ray container sources that file before ``ray start``
(so Serve replicas inherit the variables), and Kubernetes can also read single keys of it
into environment variables (``valueFrom.fileKeyRef``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SECRETS_REF_ENV = "LLMOPS_SECRETS_REF"
"""The environment variable holding the name -> secret ARN mapping."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:[\w/+=.@-]+$")


class SecretsError(RuntimeError):
    """A secret could not be read or written (the message names the variable and the fix)."""


def parse_mapping(text: str) -> dict[str, tuple[str, str | None]]:
    """``LLMOPS_SECRETS_REF`` as name -> (secret ARN, JSON key or None), every problem at once."""
    try:
        raw: Any = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise SecretsError(f"{SECRETS_REF_ENV} is not JSON ({exc}); set it to an object NAME -> secret ARN") from None
    if not isinstance(raw, dict):
        raise SecretsError(f"{SECRETS_REF_ENV} must be a JSON object NAME -> secret ARN")
    problems: list[str] = []
    out: dict[str, tuple[str, str | None]] = {}
    for name, ref in raw.items():
        arn, _, key = str(ref).partition("#")
        if not _NAME.match(str(name)):
            problems.append(f"{name!r} is not an environment variable name")
        elif not isinstance(ref, str) or not _ARN.match(arn):
            problems.append(f"{name}: {ref!r} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)")
        else:
            out[str(name)] = (arn, key or None)
    if problems:
        raise SecretsError(f"{SECRETS_REF_ENV}: " + "; ".join(problems))
    return out


def secret_value(arn: str, key: str | None = None, client: Any = None) -> str:
    """The secret's string value, or one key of it when it holds a JSON object."""
    if client is None:
        import boto3

        match = _ARN.match(arn)
        client = boto3.client("secretsmanager", region_name=match.group(1) if match else None)
    try:
        response = client.get_secret_value(SecretId=arn)
    except Exception as exc:  # botocore's ClientError and connection errors alike
        raise SecretsError(
            f"cannot read {arn} ({type(exc).__name__}: {exc}); check that the pod's role may "
            "secretsmanager:GetSecretValue on it (and kms:Decrypt on its key)"
        ) from None
    text = response.get("SecretString")
    if text is None:
        raise SecretsError(f"{arn} holds binary data; store the value as a string secret")
    if key is None:
        return str(text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise SecretsError(f"{arn} is not a JSON object, so it has no key {key!r}; drop '#{key}'") from None
    if not isinstance(document, dict) or key not in document:
        raise SecretsError(f"{arn} has no key {key!r}")
    return str(document[key])


def env_line(name: str, value: str) -> str:
    """``NAME='value'``: one line that both a POSIX shell and Kubernetes env files read back."""
    if "'" in value or "\n" in value or "\r" in value:
        raise SecretsError(f"the value of {name} holds a quote or a line break, which an env file cannot carry; rotate it to one without")
    return f"{name}='{value}'"


def write_env_file(path: Path, mapping: Mapping[str, tuple[str, str | None]], client: Any = None) -> list[str]:
    """Fetches every secret and writes the env file (mode 0600, atomically); returns the names."""
    lines = [env_line(name, secret_value(arn, key, client)) for name, (arn, key) in sorted(mapping.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in lines))
    os.replace(tmp, path)
    return sorted(mapping)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the secrets named in $LLMOPS_SECRETS_REF to an env file.")
    parser.add_argument("--out", required=True, type=Path, help="env file to write (NAME='value' lines)")
    args = parser.parse_args(argv)
    try:
        names = write_env_file(args.out, parse_mapping(os.environ.get(SECRETS_REF_ENV, "{}")))
    except SecretsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(names)} secret(s) to {args.out}: {', '.join(names) or '(none)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
