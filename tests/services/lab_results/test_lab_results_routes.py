"""A blocked or delayed lab result is invisible to the citizen by every route, one test per
route; the released one is visible, and the GP sees them all."""

from __future__ import annotations

from typing import Any

from fixtures.critical_information import CITIZEN
from fixtures.fhir_app import FHIR_JSON
from fixtures.lab_results import Results


def _ids(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if "resource" in e}


def test_read(results: Results) -> None:
    for rtype in ("DiagnosticReport", "Observation", "Specimen"):
        for rid in results.blocked[rtype] + results.delayed.get(rtype, [])[:1]:
            if rtype == "Specimen" and rid in results.delayed[rtype]:
                continue  # a specimen has no result in it: only a block hides it
            assert results.get("citizen", f"{rtype}/{rid}").status_code == 404, (rtype, rid)
            assert results.get("gp", f"{rtype}/{rid}").status_code == 200
    released = results.released["DiagnosticReport"][0]
    assert results.get("citizen", f"DiagnosticReport/{released}").status_code == 200


def test_vread_of_the_version_before_the_block(results: Results) -> None:
    report = results.blocked["DiagnosticReport"][0]
    assert results.get("citizen", f"DiagnosticReport/{report}/_history/1").status_code == 404
    assert results.get("gp", f"DiagnosticReport/{report}/_history/1").status_code == 200


def test_search(results: Results) -> None:
    for rtype in ("DiagnosticReport", "Observation", "Specimen"):
        seen = _ids(results.get("citizen", rtype, patient=CITIZEN).json())
        assert not seen & results.hidden_ids(), rtype
        assert seen  # the released result
        assert results.hidden_ids() & _ids(results.get("gp", rtype, patient=CITIZEN).json())


def test_include_and_revinclude(results: Results) -> None:
    revinclude = results.get(
        "citizen",
        "Patient",
        _id=CITIZEN,
        _revinclude="DiagnosticReport:subject",
    ).json()
    assert not _ids(revinclude) & results.hidden_ids()
    assert results.released["DiagnosticReport"][0] in _ids(revinclude)
    obs = results.get(
        "citizen", "Observation", patient=CITIZEN, _revinclude="DiagnosticReport:result"
    ).json()
    assert not _ids(obs) & results.hidden_ids()
    include = results.get(
        "citizen", "DiagnosticReport", patient=CITIZEN, _include="DiagnosticReport:result"
    ).json()
    assert not _ids(include) & results.hidden_ids()
    gp = results.get("gp", "DiagnosticReport", patient=CITIZEN, _include="DiagnosticReport:result")
    blocked = results.blocked["DiagnosticReport"] + results.blocked["Observation"]
    assert set(blocked) <= _ids(gp.json())


def test_instance_history(results: Results) -> None:
    report = results.blocked["DiagnosticReport"][0]
    answer = results.get("citizen", f"DiagnosticReport/{report}/_history")
    assert answer.status_code == 404 or not _ids(answer.json())
    gp = results.get("gp", f"DiagnosticReport/{report}/_history").json()
    assert len(gp["entry"]) == 2  # submitted, then blocked


def test_type_history(results: Results) -> None:
    for rtype in ("DiagnosticReport", "Observation"):
        answer = results.get("citizen", f"{rtype}/_history")
        assert answer.status_code == 200, answer.text
        assert not _ids(answer.json()) & results.hidden_ids()
        gp = results.get("gp", f"{rtype}/_history").json()
        assert _ids(gp) & results.hidden_ids()


def test_compartment_search(results: Results) -> None:
    for path in ("Observation", "DiagnosticReport", "Specimen", "*"):
        answer = results.get("citizen", f"Patient/{CITIZEN}/{path}")
        assert answer.status_code == 200, answer.text
        assert not _ids(answer.json()) & results.hidden_ids(), path
    everything = _ids(results.get("citizen", f"Patient/{CITIZEN}/*").json())
    assert results.released["Observation"][0] in everything


def test_batch_and_transaction_reads(results: Results) -> None:
    report = results.blocked["DiagnosticReport"][0]
    delayed = results.delayed["Observation"][0]
    gets = [
        f"DiagnosticReport/{report}",
        f"DiagnosticReport/{report}/_history/1",
        f"Observation/{delayed}",
        f"Observation?patient={CITIZEN}",
        f"Patient/{CITIZEN}/DiagnosticReport",
    ]
    for kind in ("batch", "transaction"):
        bundle = {
            "resourceType": "Bundle",
            "type": kind,
            "entry": [{"request": {"method": "GET", "url": url}} for url in gets],
        }
        headers = {**FHIR_JSON, **results.world.as_("citizen")}
        answer = results.world.client.post("/fhir", json=bundle, headers=headers)
        if kind == "transaction":  # fails as a whole, as for an id that does not exist
            assert answer.status_code == 404, answer.text
            continue
        assert answer.status_code == 200, answer.text
        statuses = [e["response"]["status"][:3] for e in answer.json()["entry"]]
        assert statuses == ["404", "404", "404", "200", "200"], statuses
        assert _no_hidden(answer.json(), results.hidden_ids())


def _no_hidden(bundle: dict[str, Any], hidden: set[str]) -> bool:
    """No entry shows a hidden resource (its id may appear in a not-found message)."""
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") or {}
        if resource.get("id") in hidden:
            return False
        if resource.get("resourceType") == "Bundle" and _ids(resource) & hidden:
            return False
    return True


def test_lastn_operation(results: Results) -> None:
    answer = results.get("citizen", "Observation/$lastn", patient=CITIZEN, max="10")
    assert answer.status_code == 200, answer.text
    assert not _ids(answer.json()) & results.hidden_ids()
    assert _ids(answer.json()) == set(results.released["Observation"])
    gp = _ids(results.get("gp", "Observation/$lastn", patient=CITIZEN, max="10").json())
    assert gp >= set(results.blocked["Observation"]) | set(results.delayed["Observation"])


def test_trend_operation(results: Results) -> None:
    citizen = results.get(
        "citizen", "Observation/$trend", patient=CITIZEN, code="http://loinc.org|718-7"
    )
    assert citizen.status_code == 200, citizen.text
    shown = [p for p in citizen.json()["parameter"] if p["name"] == "point"]
    refs = {
        part["valueReference"]["reference"]
        for p in shown
        for part in p["part"]
        if part["name"] == "observation"
    }
    assert refs == {f"Observation/{i}" for i in results.released["Observation"]}
    gp = results.get("gp", "Observation/$trend", patient=CITIZEN, code="http://loinc.org|718-7")
    points = [p for p in gp.json()["parameter"] if p["name"] == "point"]
    assert len(points) == 1 + 2 + 1  # released, blocked (two results), delayed


def test_everything_does_not_leak_hidden_results(results: Results) -> None:
    answer = results.get("citizen", f"Patient/{CITIZEN}/$everything", _count="1000")
    assert answer.status_code == 200, answer.text
    assert not _ids(answer.json()) & results.hidden_ids() and _ids(answer.json())


def test_system_history_and_system_search(results: Results) -> None:
    history = results.get("citizen", "_history")
    assert history.status_code == 200, history.text
    assert not _ids(history.json()) & results.hidden_ids()
    system = results.get("citizen", "", _type="Observation,DiagnosticReport", patient=CITIZEN)
    assert system.status_code == 200, system.text
    assert not _ids(system.json()) & results.hidden_ids() and _ids(system.json())


def test_counts_do_not_count_hidden_results(results: Results) -> None:
    released = len(results.released["Observation"])
    count = results.get("citizen", "Observation", patient=CITIZEN, _summary="count").json()
    assert count["total"] == released
    total = results.get("citizen", "Observation", patient=CITIZEN, _total="accurate").json()
    assert total["total"] == released
    assert (
        results.get("gp", "Observation", patient=CITIZEN, _summary="count").json()["total"]
        > released
    )


def test_reverse_chains_and_chains_do_not_reveal_a_hidden_result(results: Results) -> None:
    """The blocked report's second result (value 14) is the only one with that value: a
    citizen's `_has` or chained search on it finds nothing, where the GP's finds it; on the
    value the released result shares (13), the citizen's search finds their record."""
    has = "_has:Observation:patient:value-quantity"
    chained = "_has:DiagnosticReport:based-on:result.value-quantity"
    assert _ids(results.get("citizen", "Patient", **{has: "14"}).json()) == set()
    assert _ids(results.get("gp", "Patient", **{has: "14"}).json()) == {CITIZEN}
    assert _ids(results.get("citizen", "Patient", **{has: "13"}).json()) == {CITIZEN}
    assert _ids(results.get("citizen", "ServiceRequest", **{chained: "14"}).json()) == set()
    assert len(_ids(results.get("gp", "ServiceRequest", **{chained: "14"}).json())) == 1
