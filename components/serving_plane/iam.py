"""IAM policies of the serving plane (pure, tested directly).

* :func:`serving_policy`: the Ray pods' Pod Identity role reads exactly the named buckets and
  secrets, and decrypts with exactly the named keys;
* :func:`model_copy_policy`: the model copy Job writes the model's prefix of the model bucket
  only, and reads the hub token;
* :func:`load_balancer_controller_policy`: the AWS Load Balancer Controller's policy from
  upstream, kubernetes-sigs/aws-load-balancer-controller, tag v3.5.0 (commit
  11eb202c97e4ae2ee45e0658c4cde9a4b59f33d4), ``docs/install/iam_policy.json``, sha256
  16f232c9d9f79366fe949c4550ad517a202380058a9e48d45a4e215044a20a6a, stored unmodified beside
  this module as ``aws_load_balancer_controller_iam_policy.json`` (bump it with the chart);
  the role gets it narrowed to the cluster's region;
* :func:`ingest_trigger_policy`: the ingestion trigger reads, holds and deletes the
  messages of the document events queue, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

from components.iam import policy_json

LOAD_BALANCER_CONTROLLER_POLICY_FILE = "aws_load_balancer_controller_iam_policy.json"


def _bucket_objects(arn: str, prefix: str = "") -> str:
    return f"{arn}/{prefix}*"


def serving_policy(bucket_arns: Sequence[str], secret_arns: Sequence[str], kms_key_arns: Sequence[str]) -> str | None:
    """Read the objects of ``bucket_arns``, the values of ``secret_arns``, decrypt with
    ``kms_key_arns``; None when there is nothing to read (no role is needed)."""
    statements: list[dict[str, Any]] = []
    buckets = sorted(set(bucket_arns))
    if buckets:
        statements.append({"Sid": "ListNamedBuckets", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": buckets})
        statements.append(
            {"Sid": "ReadNamedBuckets", "Effect": "Allow", "Action": "s3:GetObject", "Resource": [_bucket_objects(a) for a in buckets]}
        )
    secrets = sorted(set(secret_arns))
    if secrets:
        statements.append(
            {"Sid": "ReadNamedSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secrets}
        )
    keys = sorted(set(kms_key_arns))
    if keys:
        statements.append({"Sid": "DecryptWithNamedKeys", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": keys})
    return policy_json(*statements) if statements else None


def model_copy_policy(bucket_arn: str, prefix: str, secret_arns: Iterable[str], kms_key_arns: Iterable[str]) -> str:
    """Write (and read back) the objects under ``prefix`` of the model bucket only."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListModelPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        },
        {
            "Sid": "WriteModelPrefix",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": _bucket_objects(bucket_arn, prefix),
        },
    ]
    secrets = sorted(set(secret_arns))
    if secrets:
        statements.append({"Sid": "ReadHubToken", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secrets})
    keys = sorted(set(kms_key_arns))
    if keys:
        statements.append(
            {"Sid": "EncryptWithBucketKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": keys}
        )
    return policy_json(*statements)


@cache
def load_balancer_controller_document() -> dict[str, Any]:
    """The upstream controller policy as a document."""
    text = resources.files(__package__).joinpath(LOAD_BALANCER_CONTROLLER_POLICY_FILE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def load_balancer_controller_policy(region: str) -> str:
    """The upstream controller policy, as compact JSON (it fits an inline role policy),
    narrowed to the cluster's region: every statement upstream leaves unconditioned gets
    ``aws:RequestedRegion``, except its IAM reads (IAM is global; they stay unconditioned)."""
    statements: list[dict[str, Any]] = []
    for statement in load_balancer_controller_document()["Statement"]:
        if "Condition" in statement:
            statements.append(statement)
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        global_actions = [a for a in actions if a.startswith("iam:")]
        regional = [a for a in actions if not a.startswith("iam:")]
        if global_actions:
            statements.append({**statement, "Action": global_actions})
        if regional:
            statements.append({**statement, "Action": regional, "Condition": {"StringEquals": {"aws:RequestedRegion": region}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


INGEST_TRIGGER_QUEUE_ACTIONS = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
"""What the trigger does with the events queue (``DeleteMessageBatch`` and
``ChangeMessageVisibilityBatch`` are authorised by the single-message actions)."""


def ingest_trigger_policy(queue_arn: str) -> str:
    """Receive, hold (visibility), delete messages of the queue ``queue_arn`` and read its
    attributes: nothing else, no other queue."""
    return policy_json(
        {"Sid": "ReadTheDocumentEvents", "Effect": "Allow", "Action": list(INGEST_TRIGGER_QUEUE_ACTIONS), "Resource": queue_arn}
    )
