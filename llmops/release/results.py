"""Smoke and evaluation results, stored per release.

``llmops smoke`` and ``llmops eval`` each write one JSON file for the release the stack pins::

    .llmops/results/<stack>/<fingerprint>/smoke.json
    .llmops/results/<stack>/<fingerprint>/eval.json

The directory is named by the release's full fingerprint and every file repeats the stack,
the fingerprint and the release itself; :func:`read_result` checks all three, so a result
can never be taken for another release's (or another stack's). ``.llmops/`` is git-ignored:
CI keeps the files as workflow artifacts and summarises them in the promotion pull request
(see ``docs/promotion.md``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from llmops.release.errors import ReleaseError
from llmops.release.identity import Release, canonical_json, fingerprint
from llmops.release.stackfile import write_atomically

Kind = Literal["smoke", "eval"]
KINDS: tuple[Kind, ...] = ("smoke", "eval")
RESULTS_DIR = Path(".llmops") / "results"
RESULTS_ENV = "LLMOPS_RESULTS_DIR"
SCHEMA_VERSION = 1


def results_root(project_root: Path, override: Path | None = None) -> Path:
    """Where results live: ``override``, else ``$LLMOPS_RESULTS_DIR``, else
    ``<project>/.llmops/results``."""
    if override is not None:
        return override
    from_env = os.environ.get(RESULTS_ENV)
    return Path(from_env) if from_env else project_root / RESULTS_DIR


def result_path(root: Path, stack: str, release_fingerprint: str, kind: Kind) -> Path:
    return root / stack / release_fingerprint / f"{kind}.json"


def write_result(root: Path, release: Release, kind: Kind, body: Mapping[str, Any], *, passed: bool) -> Path:
    """Writes the ``kind`` result of ``release`` (``body`` holds the checks and scores)."""
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "kind": kind,
        "stack": release.stack,
        "fingerprint": release.fingerprint,
        "release": json.loads(canonical_json(release.values)),
        "passed": passed,
        "recordedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **body,
    }
    path = result_path(root, release.stack, release.fingerprint, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


@dataclass(frozen=True)
class ResultStatus:
    """What promotion found for one kind of result."""

    kind: Kind
    path: Path
    document: Mapping[str, Any] | None
    problem: str | None
    """Why the result does not count (missing, unreadable, another release's, failed)."""

    @property
    def green(self) -> bool:
        return self.problem is None


def read_result(root: Path, release: Release, kind: Kind) -> ResultStatus:
    """The ``kind`` result recorded for exactly ``release``, with the reason when there is
    none that counts."""
    path = result_path(root, release.stack, release.fingerprint, kind)
    command = "llmops smoke" if kind == "smoke" else "llmops eval"
    if not path.is_file():
        return ResultStatus(
            kind, path, None,
            f"no {kind} result for release {release.short} of {release.stack} ({path}); run "
            f"`{command} --stack {release.stack} --endpoint URL` against {release.stack} first",
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return ResultStatus(kind, path, None, f"{path} cannot be read ({exc}); run `{command}` again")
    if not isinstance(document, dict):
        return ResultStatus(kind, path, None, f"{path} is not a results document; run `{command}` again")
    recorded = document.get("release")
    if (
        document.get("kind") != kind
        or document.get("stack") != release.stack
        or document.get("fingerprint") != release.fingerprint
        or not isinstance(recorded, dict)
        or fingerprint(recorded) != release.fingerprint
    ):
        return ResultStatus(
            kind, path, document,
            f"{path} does not record the {kind} result of release {release.short} of {release.stack} "
            f"(it names {document.get('stack')!r}, {str(document.get('fingerprint'))[:12]!r}); run `{command}` again",
        )
    if document.get("passed") is not True:
        failed = [str(c.get("name")) for c in document.get("checks", []) if isinstance(c, dict) and not c.get("passed")]
        what = f": {', '.join(failed)} failed" if failed else ""
        return ResultStatus(kind, path, document, f"the {kind} run of release {release.short} on {release.stack} failed{what} ({path})")
    return ResultStatus(kind, path, document, None)


def load_document(path: Path) -> dict[str, Any]:
    """A results file, for display (no checks)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"{path} cannot be read ({exc})") from None
    if not isinstance(document, dict):
        raise ReleaseError(f"{path} is not a results document")
    return document
