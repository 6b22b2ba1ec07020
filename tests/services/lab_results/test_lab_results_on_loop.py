"""A blocked lab result stays hidden from the citizen whichever way a read by id runs
(issue 24): a citizen's caller is never at hand (the patient look-up and the powers of
attorney are read on every request), so the citizen's reads keep the thread pool, while the
GP's reads by a remembered token run on the event loop (PostgreSQL) and see the result."""

from __future__ import annotations

from sqlalchemy import Engine, select

from fixtures.lab_results import Results
from samhandling.audit.storage.tables import audit_event


def _last_access(engine: Engine) -> tuple[str, int, str | None]:
    order = (audit_event.c.recorded_at_us.desc(), audit_event.c.event_id.desc())
    query = select(audit_event.c.interaction, audit_event.c.http_status, audit_event.c.agent_kind)
    with engine.connect() as connection:
        row = connection.execute(query.order_by(*order).limit(1)).one()
    return row[0], row[1], row[2]


def test_blocked_results_stay_hidden_from_the_citizen_on_every_path(results: Results) -> None:
    client = results.world.client
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    reads = client.app.state.loop_reads  # type: ignore[attr-defined]
    citizen, gp = results.world.as_("citizen"), results.world.as_("gp")  # one token each
    before = reads.statements if reads else 0
    for rtype in ("DiagnosticReport", "Observation", "Specimen"):
        url = f"/fhir/{rtype}/{results.blocked[rtype][0]}"
        for _ in range(2):  # the second time the token is a remembered one
            assert client.get(url, headers=citizen).status_code == 404
            assert _last_access(engine) == ("read", 404, "citizen")
            assert client.get(f"{url}/_history/1", headers=citizen).status_code == 404
            assert _last_access(engine) == ("vread", 404, "citizen")
        assert reads is None or reads.statements == before  # the citizen never on the loop
        for _ in range(2):
            assert client.get(url, headers=gp).status_code == 200
            assert _last_access(engine) == ("read", 200, "clinician")
        if reads is not None:  # at least the GP's second read ran on the loop
            assert reads.statements > before
            before = reads.statements
