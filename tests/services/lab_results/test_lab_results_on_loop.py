"""A citizen's reads by id run on the event loop (issue 24) and answer exactly as the
threaded reads do: the citizen's patients and powers of attorney are settled by the
authentication before the handler runs, and the judgement (the policy and the lab-results
rule: block, release delay) is pure. Each read is asked once on the loop and once with the
loop switched off (`fixtures.read_paths.both_ways`): same status, body bytes, headers and
audit record, on both engines. An attorney whose grant was revoked is refused on the loop
as on a thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fixtures.critical_information import CITIZEN
from fixtures.lab_results import Results, submission, submit
from fixtures.read_paths import both_ways, last_record

GRANTOR = "persona-grantor"  # Gunnar, who gave the `attorney` persona (Frida) his power


def _read(results: Results, monkeypatch: pytest.MonkeyPatch, url: str, persona: str) -> int:
    """The status of `persona`'s read of `url`, the same on the loop as on a thread, after
    it sent at least one statement on the loop."""
    world = results.world
    answer, sent = both_ways(world.client, monkeypatch, f"/fhir/{url}", **world.as_(persona))
    assert sent >= 1, url  # the loop read it
    return int(answer.status_code)


def test_the_citizens_reads_run_on_the_loop_with_the_threaded_answers(
    results: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = results.world.client
    long_ago = datetime.now(UTC) - timedelta(days=400)
    others = submit(results.world, submission(GRANTOR, long_ago))
    report = results.released["DiagnosticReport"][0]
    assert _read(results, monkeypatch, f"DiagnosticReport/{report}", "citizen") == 200
    assert last_record(client)["agent_kind"] == "citizen"
    assert last_record(client)["patients"] == [CITIZEN]
    other = f"DiagnosticReport/{others['DiagnosticReport'][0]}"
    assert _read(results, monkeypatch, other, "citizen") == 404  # not told it exists
    for rtype in ("DiagnosticReport", "Observation", "Specimen"):
        blocked = f"{rtype}/{results.blocked[rtype][0]}"
        assert _read(results, monkeypatch, blocked, "citizen") == 404
        # the version from before the block is judged with the blocked current one
        assert _read(results, monkeypatch, f"{blocked}/_history/1", "citizen") == 404
    delayed = f"Observation/{results.delayed['Observation'][0]}"
    assert _read(results, monkeypatch, delayed, "citizen") == 404  # not released yet
    assert _read(results, monkeypatch, delayed, "gp") == 200  # the GP sees it at once
    gone = f"Specimen/{results.released['Specimen'][0]}"
    assert client.delete(f"/fhir/{gone}").status_code == 204
    assert _read(results, monkeypatch, gone, "citizen") == 410
    assert _read(results, monkeypatch, f"{gone}/_history/1", "citizen") == 200


def test_an_attorney_reads_on_the_loop_until_the_grant_is_revoked(
    results: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = results.world.client
    long_ago = datetime.now(UTC) - timedelta(days=400)
    his_report = submit(results.world, submission(GRANTOR, long_ago))["DiagnosticReport"][0]
    his = f"DiagnosticReport/{his_report}"
    assert _read(results, monkeypatch, his, "attorney") == 200
    assert last_record(client)["agent_kind"] == "representative"
    grants = client.get(f"/fhir/RelatedPerson?patient={GRANTOR}").json()["entry"]
    (grant,) = [e["resource"] for e in grants]
    revoked = client.put(f"/fhir/RelatedPerson/{grant['id']}", json={**grant, "active": False})
    assert revoked.status_code == 200, revoked.text
    assert _read(results, monkeypatch, his, "attorney") == 404  # at once, on the loop too
