"""OperationOutcome issues and the exception that carries them to the HTTP layer.

Every error the platform answers with is a FHIR OperationOutcome (R4 §3.1.0.5 / §2.21.0.11).
Code below the HTTP layer raises `FhirError`; the API turns it into a response with the
given status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue: severity, IssueType code, message and where (FHIRPath)."""

    severity: str  # fatal | error | warning | information
    code: str  # http://hl7.org/fhir/issue-type: invalid, structure, required, value, ...
    diagnostics: str
    expression: tuple[str, ...] = ()

    def to_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


def error(code: str, diagnostics: str, *expression: str) -> Issue:
    """Shorthand for an error-severity issue."""
    return Issue("error", code, diagnostics, tuple(expression))


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    """An OperationOutcome resource for the given issues (at least one issue is required)."""
    items = [i.to_fhir() for i in issues]
    if not items:
        items = [Issue("information", "informational", "All OK").to_fhir()]
    return {"resourceType": "OperationOutcome", "issue": items}


@dataclass
class FhirError(Exception):
    """An error that becomes an OperationOutcome with the given HTTP status."""

    status: int
    issues: list[Issue]
    headers: Mapping[str, str] = field(default_factory=dict)

    def __init__(
        self,
        status: int,
        issues: Issue | Iterable[Issue] | str,
        headers: Mapping[str, str] | None = None,
        *,
        code: str = "processing",
    ) -> None:
        if isinstance(issues, str):
            issues = [error(code, issues)]
        elif isinstance(issues, Issue):
            issues = [issues]
        self.status = status
        self.issues = list(issues)
        self.headers = dict(headers or {})
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return "; ".join(i.diagnostics for i in self.issues)

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)
