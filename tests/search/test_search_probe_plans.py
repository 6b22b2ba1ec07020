"""Plans that hold without planner statistics: a driven search checks its other criteria
by the candidate's id, and a chain that drives a search is resolved to ids first.

PostgreSQL without statistics (a freshly loaded database, before any ANALYZE) joined the
other criteria as semi-joins scanning the parameter's index rows of every patient once per
candidate (search/sql.py, `_index_rows`). The probes are now sub-plans of their own whose
only index range is the resource id, whatever the statistics say.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from searchkit import BASE, SearchStore
from sqlalchemy import Engine, text
from sqlalchemy.dialects import postgresql

from samhandling.search import sql as sql_module
from samhandling.search.query import parse_search
from samhandling.search.sql import SearchSql
from samhandling.store.database import is_sqlite
from samhandling.store.layout import is_partitioned

SSN = "http://hl7.org/fhir/sid/us-ssn"


def _patient(pid: str, ssn: str) -> dict[str, object]:
    return {"resourceType": "Patient", "id": pid, "identifier": [{"system": SSN, "value": ssn}]}


def _vital(oid: str, pid: str, date: str) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": date,
    }


def _load(store: SearchStore) -> None:
    store.put(_patient("p1", "111"), _patient("p2", "222"))
    store.put(*(_vital(f"o{i}", f"p{1 + i % 2}", f"20{10 + i % 12}-03-01") for i in range(24)))


def _sql(engine: Engine, resource_type: str, query: str) -> str:
    parsed = parse_search(resource_type, parse_qsl(query), base_url=BASE)
    with engine.connect() as connection:
        stmt = SearchSql(connection, base_url=BASE).ordered(parsed)
        compiled = stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


_OTHER_DATE_ROWS = """
INSERT INTO index_date (resource_type, resource_id, param, low_us, high_us, patient_id)
SELECT 'Observation', 'other-' || g, 'date', g, g + 1, 'other-' || (g % 50)
FROM generate_series(1, 5000) AS g
"""


def test_driven_criteria_are_probed_by_resource_id(store: SearchStore, engine: Engine) -> None:
    if is_sqlite(engine):
        pytest.skip("the probe form is PostgreSQL's (SQLite keeps the plain EXISTS)")
    _load(store)
    query = "patient=Patient/p1&category=vital-signs&date=ge2015-01-01"
    assert store.found("Observation", query) == {f"o{i}" for i in range(0, 24, 2) if i % 12 >= 5}
    parsed = parse_search("Observation", parse_qsl(query), base_url=BASE)
    stmt = SearchSql(base_url=BASE).ordered(parsed)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        partitioned = is_partitioned(connection)
        # The SQL's shape is what is tested: a tiny test table (a page or two of index rows)
        # may rightly be scanned whole, whatever the shape, so ask for the index paths; and
        # on one page every index of it costs the same, so the planner's pick among them
        # followed whatever statistics earlier tests left in the database (CI, once: the
        # date probe on `ix_index_date_patient_time`, filtered by id). Other patients' date
        # rows, never analysed and rolled back with the transaction, give the tables the
        # size at which an index range by id is the cheaper path, as in any real database.
        if not partitioned:
            connection.execute(text(_OTHER_DATE_ROWS))
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = [row[0] for row in connection.execute(text("EXPLAIN " + sql))]
    probes = [
        i for i, line in enumerate(plan) if "on index_token" in line or "on index_date" in line
    ]
    assert len(probes) >= 2, "\n".join(plan)
    assert sum("SubPlan" in line for line in plan) >= 2, "\n".join(plan)
    if partitioned:
        return  # a probe spans every partition; the planner may scan a tiny one whole
    for i in probes:  # each probe's index range is the candidate's id
        conditions = next(line for line in plan[i + 1 :] if "Cond:" in line)
        assert "resource_id" in conditions, "\n".join(plan)


def test_a_driving_chain_is_resolved_to_ids(store: SearchStore, engine: Engine) -> None:
    _load(store)
    query = f"subject:Patient.identifier={SSN}|222&code=8480-6"
    assert store.found("Observation", query) == {f"o{i}" for i in range(1, 24, 2)}
    sql = _sql(engine, "Observation", query)
    assert "target_id IN ('p2')" in sql, sql
    assert "FROM resource" not in sql, sql
    nobody = _sql(engine, "Observation", f"subject:Patient.identifier={SSN}|999")
    assert "FROM resource" not in nobody and "index_token" not in nobody, nobody
    assert store.found("Observation", f"subject:Patient.identifier={SSN}|999") == set()


def test_a_chain_naming_many_targets_stays_a_sub_select(
    store: SearchStore, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(store)
    monkeypatch.setattr(sql_module, "RESOLVED_TARGETS", 1)
    query = f"subject:Patient.identifier={SSN}|111,{SSN}|222"
    sql = _sql(engine, "Observation", query)
    assert "target_id IN (SELECT" in sql, sql
    assert store.found("Observation", query) == {f"o{i}" for i in range(24)}
