"""What ``llmops doctor`` reports: one :class:`Finding` per check and subject (the account,
a region, a region's cluster), each passing, warning or failing with the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "warn", "fail", "skip"]
"""``skip``: the check could not run (no credentials, or what it needs failed first)."""

STATUS_ORDER: dict[Status, int] = {"fail": 0, "warn": 1, "skip": 2, "pass": 3}


@dataclass(frozen=True)
class Finding:
    """One check's result for one subject."""

    check: str
    """The check's name (``credentials``, ``spot-role``, ``quotas`` ...)."""
    subject: str
    """What was checked: ``account 111122223333``, ``us-east-1``, ``us-east-1 G spot vCPUs``."""
    status: Status
    message: str
    """What was found."""
    fix: str = ""
    """What to do (empty when nothing needs doing)."""

    def to_document(self) -> dict[str, str]:
        return {"check": self.check, "subject": self.subject, "status": self.status, "message": self.message, "fix": self.fix}


@dataclass
class DoctorReport:
    """Every finding of a run, in the order the checks ran."""

    stack: str
    account: str
    day: str
    """The day the calendar checks used (ISO)."""
    findings: list[Finding] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for f in self.findings if f.status == status)

    @property
    def failed(self) -> bool:
        return self.count("fail") > 0

    def to_document(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "stack": self.stack,
            "account": self.account,
            "day": self.day,
            "ok": not self.failed,
            "counts": {status: self.count(status) for status in ("pass", "warn", "fail", "skip")},
            "findings": [f.to_document() for f in self.findings],
        }
