"""A stand-in for the Pulumi CLI: answers the calls the Automation API makes the way the
real CLI does (version, stack select, refresh, preview, up, stack history, stack output)
and records each call (arguments, working directory) as a JSON line in
``$STANDIN_PULUMI_LOG``.

``$STANDIN_PULUMI_STACKS`` lists the stacks the backend holds (default dev,staging,prod);
``$STANDIN_PULUMI_FAIL`` makes one step fail like the real engine does:
``preview-policy`` (a mandatory policy violation), ``up-locked`` (a concurrent update),
``refresh-credentials`` (no AWS credentials).
"""

from __future__ import annotations

import json
import os
import sys
import time

VERSION = "v3.200.0"  # below 3.205 the Automation API reads engine events from a file
CHANGES = {"create": 3, "same": 2}


def record(args: list[str]) -> None:
    with open(os.environ["STANDIN_PULUMI_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"args": args, "cwd": os.getcwd(), "automation": os.environ.get("PULUMI_AUTOMATION_API")}) + "\n")


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def events(args: list[str], changes: dict[str, int]) -> None:
    path = option(args, "--event-log")
    if path is None:
        return
    with open(path, "a", encoding="utf-8") as log:
        now = int(time.time())
        log.write(json.dumps({"sequence": 0, "timestamp": now, "preludeEvent": {"config": {}}}) + "\n")
        log.write(json.dumps({"sequence": 1, "timestamp": now, "summaryEvent": {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": changes, "PolicyPacks": {}}}) + "\n")
        log.write(json.dumps({"sequence": 2, "timestamp": now, "cancelEvent": {}}) + "\n")


def fail(stderr: str, stdout: str = "", args: list[str] | None = None) -> None:
    path = option(args or [], "--event-log")
    if path is not None:  # the engine ends its event log on failures too
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"sequence": 9, "timestamp": int(time.time()), "cancelEvent": {}}) + "\n")
    if stdout:
        print(stdout)
    print(stderr, file=sys.stderr)
    sys.exit(255)


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--non-interactive"]
    record(args)
    failing = os.environ.get("STANDIN_PULUMI_FAIL", "")
    stack = option(args, "--stack") or ""
    if args[:1] == ["version"]:
        print(VERSION)
    elif args[:2] == ["stack", "select"]:
        known = os.environ.get("STANDIN_PULUMI_STACKS", "dev,staging,prod").split(",")
        if stack not in known:
            fail(f"error: no stack named '{stack}' found")
    elif args[:1] == ["refresh"]:
        if failing == "refresh-credentials":
            fail("error: No valid credential sources found for AWS Provider.")
        print(f"Refreshing ({stack}):")
        print("Resources:\n    5 unchanged")
    elif args[:1] == ["preview"]:
        print(f"Previewing update ({stack}):")
        if failing == "preview-policy":
            fail(
                "error: preview failed",
                "Policy Violations:\n    [mandatory]  llmops-security v0.1.0  kms-encryption-at-rest (aws:s3:Bucket: docs)\n"
                "    S3 bucket 'docs' is not encrypted with a KMS key; set serverSideEncryptionConfiguration",
                args,
            )
        print(" +  aws:ec2:Vpc us-east-1-vpc create")
        print("Resources:\n    + 3 to create\n    2 unchanged")
        events(args, CHANGES)
    elif args[:1] == ["up"]:
        if failing == "up-locked":
            fail("error: [409] Conflict: Another update is currently in progress.", "", args)
        print(f"Updating ({stack}):")
        print(" +  aws:ec2:Vpc us-east-1-vpc created (2s)")
        print("Resources:\n    + 3 created\n    2 unchanged")
        events(args, CHANGES)
    elif args[:2] == ["stack", "history"]:
        print(json.dumps([{
            "kind": "update", "startTime": "2025-01-01T00:00:00.000Z", "endTime": "2025-01-01T00:01:00.000Z",
            "message": "", "environment": {}, "config": {}, "result": "succeeded", "version": 2,
            "resourceChanges": CHANGES,
        }]))
    elif args[:2] == ["stack", "output"]:
        secret = "--show-secrets" in args
        print(json.dumps({"environment": stack, "kubeconfigs": "apiVersion: v1" if secret else "[secret]"}))


if __name__ == "__main__":
    main()
