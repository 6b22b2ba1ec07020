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
- Later pages (`Earlier`: what the answer's earlier pages listed and counted): a peer's
  document listed on an earlier page is not listed again, and neither is one of this
  area's that a peer listed earlier (`listed.SeenDocuments`).
- `total` = this area's total + each peer's (as last reported; without one, what it sent)
  - the documents left out so far (duplicates, withheld): exact on the last page, an upper
  bound before it (duplicates on later pages are not known yet).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard
from urllib.parse import urlsplit

from samhandling.fhir.outcome import Issue, operation_outcome
from samhandling.services.document_federation.listed import SeenDocuments

Status = Literal["answered", "timeout", "unreachable", "refused", "failed"]
#: an answer's issue code per status (http://hl7.org/fhir/issue-type)
ISSUE_CODES: dict[str, str] = {
    "timeout": "timeout",
    "unreachable": "transient",
    "refused": "forbidden",
    "failed": "exception",
}
#: the key of this area in `Earlier.totals` and the tallies
HERE = ""
MAX_LINK_CHARS = 2000


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
    more: int = 0  # matches the peer has beyond the page it sent, without a next link
    matches: int = 0  # matches it sent on this page
    total: int | None = None  # the total it reported
    next_url: str | None = None  # its next page, when at its base
    stray_next: bool = False  # it gave a next link elsewhere (never followed)


@dataclass
class Earlier:
    """What the earlier pages of a federated answer listed and counted."""

    seen: SeenDocuments = field(default_factory=SeenDocuments)
    totals: dict[str, int] = field(default_factory=dict)  # HERE, else a peer's name
    left_out: int = 0
    first_page: bool = True


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
    earlier: Earlier | None = None,
) -> tuple[dict[str, Any], dict[str, PeerTally], Earlier]:
    """The local searchset with the peers' answers merged in, each peer's tally (this
    area's under `HERE`) and what the answer listed and counted up to this page."""
    so_far = earlier or Earlier()
    merged = dict(local)
    tallies: dict[str, PeerTally] = {HERE: PeerTally()}
    entries = _local_entries(local, so_far, tallies[HERE])
    for answer in answers:
        tally = tallies[answer.peer] = PeerTally()
        if answer.bundle is not None:
            entries += _remote_entries(answer, resource_type, marks, so_far, tally)
    entries.append(outcome_entry(answers, tallies))
    merged["entry"] = entries
    now = _counted(so_far, local, answers, tallies)
    merged.pop("total", None)
    if HERE in now.totals:
        merged["total"] = max(0, sum(now.totals.values()) - now.left_out)
    return merged, tallies, now


def _local_entries(local: dict[str, Any], so_far: Earlier, tally: PeerTally) -> list[Any]:
    """This area's entries as they are, but for documents a peer listed on an earlier
    page (counted as `tally.duplicates`)."""
    kept = []
    for entry in local.get("entry", []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if _mode(entry) == "match" and isinstance(resource, dict):
            if not so_far.first_page and so_far.seen.listed(resource, remotely_only=True):
                tally.duplicates += 1
                continue
            so_far.seen.add(resource, remote=False)
        kept.append(entry)
    return kept


def _counted(
    so_far: Earlier,
    local: dict[str, Any],
    answers: Sequence[PeerAnswer],
    tallies: dict[str, PeerTally],
) -> Earlier:
    """The totals and the count of documents left out, with this page."""
    totals = dict(so_far.totals)
    if isinstance(local.get("total"), int):
        totals[HERE] = local["total"]
    for answer in answers:
        tally = tallies[answer.peer]
        if answer.status == "answered":
            sent = totals.get(answer.peer, 0) + tally.matches
            totals[answer.peer] = tally.total if tally.total is not None else sent
    left_out = so_far.left_out + sum(t.duplicates + t.withheld for t in tallies.values())
    return Earlier(so_far.seen, totals, left_out, first_page=False)


def _remote_entries(
    answer: PeerAnswer,
    resource_type: str,
    marks: RemoteMarks,
    so_far: Earlier,
    tally: PeerTally,
) -> list[dict[str, Any]]:
    assert answer.bundle is not None
    found: list[dict[str, Any]] = []
    seen, matches = so_far.seen, 0
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
                seen.add(resource, remote=True)
                tally.added += 1
    total = answer.bundle.get("total")
    tally.matches, tally.total = matches, total if isinstance(total, int) else None
    _note_next(answer, resource_type, tally)
    if tally.next_url is None and so_far.first_page and tally.total is not None:
        tally.more = max(0, tally.total - matches)
    return found


def _note_next(answer: PeerAnswer, resource_type: str, tally: PeerTally) -> None:
    """The peer's `next` link, kept only when it is at the peer's base and type: the
    gateway follows no other URL (a peer cannot make it fetch from elsewhere)."""
    assert answer.bundle is not None
    links = answer.bundle.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and followable(url, answer.base_url, resource_type):
                tally.next_url = url
            else:
                tally.stray_next = True
            return


def followable(url: str, base_url: str, resource_type: str) -> bool:
    """Whether `url` is a search of `resource_type` at the peer whose base is `base_url`:
    same scheme, host and port, path exactly `{base path}/{type}`, no user, no fragment."""
    if len(url) > MAX_LINK_CHARS or not url.isascii() or not url.isprintable() or " " in url:
        return False
    try:
        parts, base = urlsplit(url), urlsplit(base_url)
    except ValueError:
        return False
    return (
        (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
        and parts.path == f"{base.path}/{resource_type}"
        and not parts.fragment
    )


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
    here = tallies.get(HERE)
    if here is not None and here.duplicates:
        said = f"This area: {here.duplicates} already listed by a peer on an earlier page"
        issues.insert(0, Issue("information", "informational", said))
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
    if tally.next_url is not None:
        said += "; more on the next page"
    issues = [Issue("information", "informational", said)]
    if tally.stray_next:
        stray = (
            f"{who} gave a next page link outside its base; it was not followed and its "
            "further matches are missing from this answer"
        )
        issues.append(Issue("warning", "incomplete", stray))
    elif tally.more:
        more = f"{who} has {tally.more} more matches than it sent; ask it for the next page"
        issues.append(Issue("warning", "incomplete", more))
    return issues


def result_text(answer: PeerAnswer, tally: PeerTally | None) -> str:
    """One peer's result in a few words, for the audit trail."""
    if answer.status != "answered" or tally is None:
        return f"{answer.status}: {answer.detail}"
    added, duplicates, withheld = tally.added, tally.duplicates, tally.withheld
    return f"answered: {added} added, {duplicates} duplicates, {withheld} withheld"
