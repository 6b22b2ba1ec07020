"""Merging peers' searchsets: de-duplication, marking, outcomes (pure, no network)."""

from __future__ import annotations

from typing import Any

from samhandling.services.document_federation.merge import (
    PeerAnswer,
    RemoteMarks,
    merge,
    peer_path,
)

A = "https://a.example/fhir"
C = "https://c.example/fhir"
MASTER = "urn:ietf:rfc:3986"


def document(rid: str, master: str | None = None, *identifiers: str, **extra: Any) -> dict:
    resource: dict[str, Any] = {"resourceType": "DocumentReference", "id": rid, **extra}
    if master:
        resource["masterIdentifier"] = {"system": MASTER, "value": master}
    if identifiers:
        resource["identifier"] = [{"system": "urn:x", "value": v} for v in identifiers]
    return resource


def searchset(*resources: dict, total: int | None = None, outcome: dict | None = None) -> dict:
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"x/{r.get('id')}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    if outcome:
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    if total is not None:
        bundle["total"] = total
    return bundle


MARKS = RemoteMarks(content_link=lambda peer, path: f"https://gw/fhir/_federation/{peer}/{path}")


def answered(peer: str, base: str, *resources: dict, **kw: Any) -> PeerAnswer:
    return PeerAnswer(peer, base, "answered", bundle=searchset(*resources, **kw))


def matches(bundle: dict) -> list[dict]:
    return [e for e in bundle["entry"] if e["search"]["mode"] == "match"]


def gateway_outcome(bundle: dict) -> list[dict]:
    return bundle["entry"][-1]["resource"]["issue"]


def test_local_first_then_peers_in_order_and_duplicates_by_master_identifier() -> None:
    local = searchset(document("1", "doc-1"), total=1)
    answers = [
        answered("area-a", A, document("9", "doc-1"), document("10", "doc-2")),
        answered("area-c", C, document("5", "doc-2"), document("6", "doc-3")),
    ]
    merged, tallies, _ = merge(local, answers, "DocumentReference", MARKS)
    ids = [(e["fullUrl"], e["resource"]["masterIdentifier"]["value"]) for e in matches(merged)]
    assert ids == [
        ("x/1", "doc-1"),
        (f"{A}/DocumentReference/10", "doc-2"),
        (f"{C}/DocumentReference/6", "doc-3"),
    ]
    assert merged["total"] == 3
    assert (tallies["area-a"].added, tallies["area-a"].duplicates) == (1, 1)
    assert (tallies["area-c"].added, tallies["area-c"].duplicates) == (1, 1)


def test_identifier_decides_only_without_master_identifier() -> None:
    local = searchset(document("1", None, "entry-1"))
    answers = [
        answered(
            "area-a",
            A,
            document("2", None, "entry-1"),  # same identifier, no master: the same document
            document("3", "doc-9", "entry-1"),  # has a master identifier never seen: kept
            document("4", None, "entry-7"),
        )
    ]
    merged, tallies, _ = merge(local, answers, "DocumentReference", MARKS)
    assert [e["resource"]["id"] for e in matches(merged)] == ["1", "3", "4"]
    assert tallies["area-a"].duplicates == 1


def test_remote_entries_are_marked_with_their_home_and_content_goes_through_the_gateway() -> None:
    remote = document(
        "7",
        "doc-7",
        meta={"versionId": "2"},
        content=[
            {"attachment": {"url": "Binary/b1", "contentType": "application/pdf"}},
            {"attachment": {"url": f"{A}/Binary/b2"}},
            {"attachment": {"url": "https://elsewhere.example/doc.pdf"}},
        ],
    )
    merged, _, _ = merge(searchset(), [answered("area-a", A, remote)], "DocumentReference", MARKS)
    entry = matches(merged)[0]
    assert entry["fullUrl"] == f"{A}/DocumentReference/7"
    assert entry["resource"]["meta"] == {"versionId": "2", "source": A}
    urls = [c["attachment"]["url"] for c in entry["resource"]["content"]]
    assert urls == [
        "https://gw/fhir/_federation/area-a/Binary/b1",
        "https://gw/fhir/_federation/area-a/Binary/b2",
        "https://elsewhere.example/doc.pdf",  # not a peer's: left alone, never proxied
    ]
    assert remote["content"][0]["attachment"]["url"] == "Binary/b1"  # the input is not changed


def test_every_failed_peer_is_named_and_answered_ones_are_counted() -> None:
    answers = [
        answered("area-a", A, document("1", "d1"), total=5),
        PeerAnswer("area-down", "http://127.0.0.1:9/fhir", "unreachable", "could not be reached"),
        PeerAnswer("area-slow", "http://127.0.0.1:8/fhir", "timeout", "did not answer within 1 s"),
        PeerAnswer("area-x", "http://x/fhir", "refused", "answered HTTP 403 (no)"),
        PeerAnswer("area-y", "http://y/fhir", "failed", "answered HTTP 500"),
    ]
    merged, _, _ = merge(searchset(), answers, "DocumentReference", MARKS)
    issues = gateway_outcome(merged)
    assert merged["entry"][-1]["search"] == {"mode": "outcome"}
    by_code = {(i["severity"], i["code"]): i["diagnostics"] for i in issues}
    assert "area-a" in by_code[("information", "informational")]
    assert "4 more matches" in by_code[("warning", "incomplete")]
    assert (
        "area-down (http://127.0.0.1:9/fhir) could not be reached"
        in by_code[("warning", "transient")]
    )
    assert "area-slow" in by_code[("warning", "timeout")]
    assert "area-x" in by_code[("warning", "forbidden")]
    assert "area-y" in by_code[("warning", "exception")]
    assert all(
        "missing from this answer" in i["diagnostics"]
        for i in issues
        if i["code"] in ("transient", "timeout", "forbidden", "exception")
    )


def test_a_peers_own_outcome_is_carried_naming_the_peer() -> None:
    withheld = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "suppressed", "diagnostics": "2 withheld"}],
    }
    answers = [answered("area-a", A, document("1", "d1"), outcome=withheld)]
    merged, _, _ = merge(searchset(), answers, "DocumentReference", MARKS)
    outcomes = [e["resource"] for e in merged["entry"] if e["search"]["mode"] == "outcome"]
    carried = outcomes[0]["issue"][0]
    assert carried["code"] == "suppressed"
    assert carried["diagnostics"] == "area-a: 2 withheld"


def test_the_gateways_own_check_withholds_and_counts() -> None:
    labelled = document("2", "d2", meta={"security": [{"code": "R"}]})
    marks = RemoteMarks(MARKS.content_link, visible=lambda r: "security" not in r.get("meta", {}))
    merged, tallies, _ = merge(
        searchset(),
        [answered("area-a", A, document("1", "d1"), labelled)],
        "DocumentReference",
        marks,
    )
    assert [e["resource"]["id"] for e in matches(merged)] == ["1"]
    assert tallies["area-a"].withheld == 1
    assert "1 withheld by this gateway" in gateway_outcome(merged)[0]["diagnostics"]


def test_entries_of_another_type_or_without_id_are_not_taken_as_matches() -> None:
    odd = [
        {"resourceType": "Patient", "id": "p"},
        {"resourceType": "DocumentReference"},
        {"resourceType": "DocumentReference", "id": "../../Patient/1"},
    ]
    answer = answered("area-a", A, *odd)
    assert answer.bundle is not None
    answer.bundle["entry"].append("not an entry")
    merged, tallies, _ = merge(searchset(), [answer], "DocumentReference", MARKS)
    assert matches(merged) == []
    assert tallies["area-a"].added == 0


def test_peer_path_accepts_only_binary_reads_under_the_peer() -> None:
    assert peer_path("Binary/abc-1.2", A) == "Binary/abc-1.2"
    assert peer_path(f"{A}/Binary/abc", A) == "Binary/abc"
    assert peer_path("Binary/../Patient/1", A) is None
    assert peer_path("Patient/1", A) is None
    assert peer_path("https://a.example/fhirx/Binary/1", A) is None
    assert peer_path("Binary/" + "a" * 65, A) is None
