"""A search's audit record names what its Bundle returned — the matches and includes of the
page, and their patients — not what the policy judged while filling the page: the
look-ahead match that tells whether there is a next page, nor a hidden match."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from fixtures.audit_records import recorded_events
from fixtures.fhir_app import FHIR_JSON
from samhandling.auth.labels import V3_CONFIDENTIALITY

VERY_RESTRICTED = [{"system": V3_CONFIDENTIALITY, "code": "V"}]  # withheld from systems


def _store(client: TestClient, *resources: dict[str, Any]) -> None:
    """Stored under their own ids (a keyset page is ordered by id)."""
    entries = [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in resources
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    response = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text


def _observation(rid: str, patient: str, *, hidden: bool = False) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"text": "puls"},
        "subject": {"reference": f"Patient/{patient}"},
    }
    if hidden:
        resource["meta"] = {"security": VERY_RESTRICTED}
    return resource


def _world(client: TestClient, *observations: dict[str, Any]) -> None:
    patients = [{"resourceType": "Patient", "id": pid} for pid in ("pa", "pb")]
    _store(client, *patients, *observations)


def _search(client: TestClient, query: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Bundle and the search's audit record (the latest one)."""
    response = client.get(f"/fhir/{query}")
    assert response.status_code == 200, response.text
    events = recorded_events(client.app.state.engine)  # type: ignore[attr-defined]
    return response.json(), events[-1]


def _named(event: dict[str, Any]) -> list[str]:
    """The resources the record names (Domain Resource entities, without versions)."""
    return sorted(
        e["what"]["reference"].split("/_history/")[0]
        for e in event["event"]["entity"]
        if e["role"]["code"] == "4"
    )


def _returned(bundle: dict[str, Any]) -> list[str]:
    return sorted(
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e["search"]["mode"] != "outcome"
    )


def _next(bundle: dict[str, Any]) -> str | None:
    url = next((lk["url"] for lk in bundle["link"] if lk["relation"] == "next"), None)
    return url.split("/fhir/", 1)[1] if url else None


def test_a_full_page_names_its_matches_not_the_look_ahead(client: TestClient) -> None:
    _world(client, _observation("o1", "pa"), _observation("o2", "pa"), _observation("o3", "pb"))
    bundle, event = _search(client, "Observation?_count=2")
    assert _next(bundle) is not None  # o3 was read to know there is a next page
    assert _returned(bundle) == _named(event) == ["Observation/o1", "Observation/o2"]
    assert event["interaction"] == "search"
    assert event["patients"] == ["pa"]  # pb's only match was the look-ahead


def test_includes_are_named_with_their_patients(client: TestClient) -> None:
    _world(client, _observation("o1", "pa"), _observation("o2", "pb"))
    bundle, event = _search(client, "Observation?_count=1&_include=Observation:subject")
    assert _returned(bundle) == _named(event) == ["Observation/o1", "Patient/pa"]
    assert event["patients"] == ["pa"]


def test_a_hidden_match_in_the_page_is_not_named(client: TestClient) -> None:
    _world(
        client,
        _observation("o1", "pa"),
        _observation("o2", "pb", hidden=True),
        _observation("o3", "pa"),
        _observation("o4", "pb"),
    )
    bundle, event = _search(client, "Observation?_count=2")
    assert _returned(bundle) == _named(event) == ["Observation/o1", "Observation/o3"]
    assert event["patients"] == ["pa"]
    following = _next(bundle)
    assert following is not None
    second, second_event = _search(client, following)
    assert _returned(second) == _named(second_event) == ["Observation/o4"]
    assert second_event["patients"] == ["pb"]


def test_pages_of_a_sorted_search_name_their_matches_not_the_look_ahead(
    client: TestClient,
) -> None:
    """Not ordered by id: the matches are paged from a stored list (`search/paging.py`)."""
    _world(client, _observation("o1", "pa"), _observation("o2", "pb"), _observation("o3", "pa"))
    query: str | None = "Observation?_count=1&_sort=status"
    pages = 0
    while query is not None:
        bundle, event = _search(client, query)
        returned = _returned(bundle)
        assert len(returned) == 1 and _named(event) == returned
        (entry,) = bundle["entry"]
        assert event["patients"] == [entry["resource"]["subject"]["reference"][8:]]
        query, pages = _next(bundle), pages + 1
    assert pages == 3


def test_a_count_names_no_resource_but_the_patient_searched(client: TestClient) -> None:
    """What is kept: the patient a search is fixed on is named whatever it returned."""
    _world(client, _observation("o1", "pa"), _observation("o2", "pb"))
    bundle, event = _search(client, "Observation?patient=pb&_summary=count")
    assert bundle["total"] == 1 and _named(event) == []
    assert event["patients"] == ["pb"]


def test_a_compartment_search_names_its_matches_not_the_patient_checked(
    client: TestClient,
) -> None:
    """The Patient of `Patient/pa/Observation` is read to be judged, not returned: the
    record names the patient (the search is fixed on them), not the resource."""
    _world(client, _observation("o1", "pa"), _observation("o2", "pa"), _observation("o3", "pb"))
    bundle, event = _search(client, "Patient/pa/Observation?_count=1")
    assert _next(bundle) is not None
    assert _returned(bundle) == _named(event) == ["Observation/o1"]
    assert event["patients"] == ["pa"]
