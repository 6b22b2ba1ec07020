"""Merging the peers' searchsets into the local one (pure: no I/O).

- Local entries come first and stay as they are; the peers' follow in the order of the
  peers file.
- A document already listed is not listed again: the same `masterIdentifier` (IHE's
  uniqueId), or, for a document without one, any shared `identifier` (system and value).
- A remote entry says where it lives: `fullUrl` is its URL at the peer and `meta.source`
  the peer's FHIR base; its attachments' URLs point at this gateway (`content_link`), so
  that retrieval follows the document home.
- One OperationOutcome entry (`search.mode` = outcome) names every peer asked and what it
  answered: a peer that timed out, could not be reached, refused or failed is a warning,
  never left out. A peer's own outcome entries (such as "N withheld") are carried over,
  their messages prefixed with the peer's name.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard

from samhandling.fhir.outcome import Issue, operation_outcome

Status = Literal["answered", "timeout", "unreachable", "refused", "failed"]
#: an answer's issue code per status (http://hl7.org/fhir/issue-type)
ISSUE_CODES: dict[str, str] = {
    "timeout": "timeout",
    "unreachable": "transient",
    "refused": "forbidden",
    "failed": "exception",
}


@dataclass(frozen=True)
class PeerAnswer:
    """What one peer answered to one search (`bundle` only when it answered)."""

    peer: str
    base_url: str
    status: Status
    detail: str = ""
    bundle: dict[str, Any] | None = None


@dataclass
class PeerTally:
    """What became of one peer's answer in the merge."""

    added: int = 0
    duplicates: int = 0
    withheld: int = 0
    more: int = 0  # matches the peer has beyond the page it sent


@dataclass
class SeenDocuments:
    """The documents listed so far, by master identifier and by identifier."""

    masters: set[str] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)

    def listed(self, resource: dict[str, Any]) -> bool:
        """Whether `resource` is a document already listed (see the module doc)."""
        master = _token(resource.get("masterIdentifier"))
        if master is not None:
            return master in self.masters
        return any(token in self.identifiers for token in _identifiers(resource))

    def add(self, resource: dict[str, Any]) -> None:
        master = _token(resource.get("masterIdentifier"))
        if master is not None:
            self.masters.add(master)
        self.identifiers.update(_identifiers(resource))


def _token(identifier: Any) -> str | None:
    if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
        return None
    return f"{identifier.get('system', '')}|{identifier['value']}"


def _identifiers(resource: dict[str, Any]) -> list[str]:
    found = resource.get("identifier")
    tokens = (_token(i) for i in (found if isinstance(found, list) else []))
    return [t for t in tokens if t is not None]


@dataclass(frozen=True)
class RemoteMarks:
    """How remote entries are marked: `content_link(peer, path)` gives the gateway's URL
    for a peer's content path; `visible(resource)` is the gateway's own check."""

    content_link: Callable[[str, str], str]
    visible: Callable[[dict[str, Any]], bool] = lambda _resource: True


def merge(
    local: dict[str, Any],
    answers: Sequence[PeerAnswer],
    resource_type: str,
    marks: RemoteMarks,
) -> tuple[dict[str, Any], dict[str, PeerTally]]:
    """The local searchset with the peers' answers merged in, and each peer's tally."""
    merged = dict(local)
    entries = list(local.get("entry", []))
    seen = SeenDocuments()
    for entry in entries:
        if _mode(entry) == "match" and isinstance(entry.get("resource"), dict):
            seen.add(entry["resource"])
    tallies: dict[str, PeerTally] = {}
    for answer in answers:
        tally = tallies[answer.peer] = PeerTally()
        if answer.bundle is not None:
            entries += _remote_entries(answer, resource_type, marks, seen, tally)
    entries.append(outcome_entry(answers, tallies))
    merged["entry"] = entries
    if isinstance(local.get("total"), int):
        merged["total"] = local["total"] + sum(t.added for t in tallies.values())
    return merged, tallies


def _remote_entries(
    answer: PeerAnswer,
    resource_type: str,
    marks: RemoteMarks,
    seen: SeenDocuments,
    tally: PeerTally,
) -> list[dict[str, Any]]:
    assert answer.bundle is not None
    found: list[dict[str, Any]] = []
    matches = 0
    for entry in answer.bundle.get("entry", []):
        if not isinstance(entry, dict):
            continue
        resource, mode = entry.get("resource"), _mode(entry)
        if mode == "outcome":
            found.append(carried_outcome(answer.peer, resource))
            continue
        if mode == "match":
            matches += 1
        if not _acceptable(resource, resource_type if mode == "match" else None):
            continue
        if mode == "match" and seen.listed(resource):
            tally.duplicates += 1
        elif not marks.visible(resource):
            tally.withheld += 1
        else:
            found.append(_remote_entry(answer, resource, mode, marks))
            if mode == "match":
                seen.add(resource)
                tally.added += 1
    total = answer.bundle.get("total")
    tally.more = max(0, total - matches) if isinstance(total, int) else 0
    return found


def _mode(entry: Any) -> str:
    search = entry.get("search") if isinstance(entry, dict) else None
    mode = search.get("mode") if isinstance(search, dict) else None
    return mode if mode in ("match", "include", "outcome") else "match"


def _acceptable(resource: Any, resource_type: str | None) -> TypeGuard[dict[str, Any]]:
    """A resource with a type and an id (of `resource_type`, when given)."""
    if not isinstance(resource, dict) or not _is_id(resource.get("id")):
        return False
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not kind.isalpha():
        return False
    return resource_type is None or kind == resource_type


def _remote_entry(
    answer: PeerAnswer, resource: dict[str, Any], mode: str, marks: RemoteMarks
) -> dict[str, Any]:
    marked = copy.deepcopy(resource)
    meta = marked.get("meta")
    marked["meta"] = {**(meta if isinstance(meta, dict) else {}), "source": answer.base_url}
    contents = marked.get("content") if marked["resourceType"] == "DocumentReference" else None
    for content in contents if isinstance(contents, list) else []:
        attachment = content.get("attachment") if isinstance(content, dict) else None
        if isinstance(attachment, dict) and isinstance(attachment.get("url"), str):
            path = peer_path(attachment["url"], answer.base_url)
            if path is not None:
                attachment["url"] = marks.content_link(answer.peer, path)
    return {
        "fullUrl": f"{answer.base_url}/{marked['resourceType']}/{marked['id']}",
        "resource": marked,
        "search": {"mode": mode},
    }


def _is_id(value: Any) -> bool:
    """A FHIR id: 1-64 of A-Z, a-z, 0-9, '-' and '.'."""
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        return False
    return all(c.isascii() and (c.isalnum() or c in "-.") for c in value)


def peer_path(url: str, base_url: str) -> str | None:
    """A content URL as a path under the peer's base (`Binary/<id>`), or None when it
    points elsewhere (then it is left as it is: the gateway proxies only its peers)."""
    path = url.removeprefix(base_url + "/") if url.startswith(base_url + "/") else url
    kind, _, rid = path.partition("/")
    return path if kind == "Binary" and _is_id(rid) else None


def carried_outcome(peer: str, resource: Any) -> dict[str, Any]:
    """A peer's own outcome entry, each message prefixed with the peer's name."""
    issues = resource.get("issue") if isinstance(resource, dict) else None
    carried = []
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, dict):
            continue
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
        carried.append({**issue, "diagnostics": f"{peer}: {text}"[:1000]})
    outcome = {"resourceType": "OperationOutcome", "issue": carried}
    if not carried:
        outcome = operation_outcome([Issue("information", "informational", f"{peer}: (empty)")])
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": outcome,
        "search": {"mode": "outcome"},
    }


def outcome_entry(answers: Iterable[PeerAnswer], tallies: dict[str, PeerTally]) -> dict[str, Any]:
    """The gateway's OperationOutcome entry: one issue (or two) per peer asked."""
    issues = [issue for a in answers for issue in peer_issues(a, tallies.get(a.peer))]
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": operation_outcome(issues),
        "search": {"mode": "outcome"},
    }


def peer_issues(answer: PeerAnswer, tally: PeerTally | None) -> list[Issue]:
    """What the consumer is told about one peer."""
    who = f"{answer.peer} ({answer.base_url})"
    if answer.status != "answered":
        missing = "; its documents are missing from this answer"
        code = ISSUE_CODES[answer.status]
        return [Issue("warning", code, f"{who} {answer.detail}{missing}", ("Bundle.entry",))]
    tally = tally or PeerTally()
    said = f"{who} answered: {tally.added} added"
    if tally.duplicates:
        said += f", {tally.duplicates} already listed"
    if tally.withheld:
        said += f", {tally.withheld} withheld by this gateway"
    issues = [Issue("information", "informational", said)]
    if tally.more:
        more = f"{who} has {tally.more} more matches than it sent; ask it for the next page"
        issues.append(Issue("warning", "incomplete", more))
    return issues


def result_text(answer: PeerAnswer, tally: PeerTally | None) -> str:
    """One peer's result in a few words, for the audit trail."""
    if answer.status != "answered" or tally is None:
        return f"{answer.status}: {answer.detail}"
    added, duplicates, withheld = tally.added, tally.duplicates, tally.withheld
    return f"answered: {added} added, {duplicates} duplicates, {withheld} withheld"
