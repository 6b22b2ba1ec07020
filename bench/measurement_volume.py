"""Measurement volume (issue #20): `Observation/$aggregate` cost as the table grows.

    python -m bench.measurement_volume load --database URL --observations 1000000
    python -m bench.measurement_volume measure --database URL --requests 200

`load` gives citizens of a database holding the demo population (`bench.population`) a
year of home-monitoring measurements each (`--per-day` a day, default 20: pulse, SpO2,
respiration rate, temperature and the blood-pressure panel 85354-9 with its systolic and
diastolic components, in turn), patient after patient, until the database holds
`--observations` measurements; a second `load` with a larger number adds patients. It
writes straight into the tables with `INSERT … SELECT generate_series` on PostgreSQL (the
API would take hours for ten million): the rows the write path makes for such an
Observation (resource, compartment, and the token, date, quantity, composite and reference
index rows, shaped as `store/index_rows` makes them) but no `resource_version` rows (the
history, which no query here reads). The table grows with the number of patients at a fixed
history per patient, the shape of the national service.

`measure` starts `samhandling serve` on one core (bench/server.py) and asks, one request at
a time, `Observation/$aggregate` for a random loaded patient: a 30-day period ending at a
random day of the year, daily intervals, pulse or systolic blood pressure (the component
path) in turn; it prints p50/p95/p99 and the server's CPU per request as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.procstats import load_average

DAY_US = 86_400_000_000
YEAR_START_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
PREFIX = "mv"  # ids of the generated measurements: mv-<patient>-<n>

# kind (n % 5) -> LOINC code, UCUM unit, low, spread of the value
KINDS = (
    ("8867-4", "/min", 55, 40),
    ("59408-5", "%", 90, 10),
    ("9279-1", "/min", 10, 14),
    ("8310-5", "Cel", 36, 3),
    ("85354-9", "mm[Hg]", 100, 60),  # the panel: systolic 8480-6 and diastolic 8462-4
)


def _obs_sql(per_day: int) -> str:
    """The measurements of the patients in `mv_patient`, into the scratch table `mv_obs`."""
    kinds = " ".join(
        f"WHEN {i} THEN ARRAY['{c}', '{u}', '{lo}', '{sp}']"
        for i, (c, u, lo, sp) in enumerate(KINDS)
    )
    return f"""
    CREATE UNLOGGED TABLE mv_obs AS
    SELECT p.patient_id, '{PREFIX}-' || p.patient_id || '-' || g.n AS rid,
           {YEAR_START_US}::bigint + g.n * ({DAY_US // per_day}::bigint) AS at_us,
           k.kind[1] AS code, k.kind[2] AS unit,
           round(k.kind[3]::numeric + (random() * k.kind[4]::float8)::numeric, 1)::float8 AS v1,
           round((60 + random() * 40)::numeric, 0)::float8 AS v2,
           g.n % 5 = 4 AS panel
    FROM mv_patient p
    CROSS JOIN generate_series(0, {365 * per_day - 1}) AS g(n)
    CROSS JOIN LATERAL (SELECT CASE g.n % 5 {kinds} END AS kind) k
    """


INSERTS = (
    """INSERT INTO resource (resource_type, resource_id, patient_id, version_id, tx_id,
         last_updated_us, deleted, content)
       SELECT 'Observation', rid, patient_id, 1, 1, at_us, false, convert_to(json_build_object(
         'resourceType', 'Observation', 'id', rid, 'status', 'final',
         'subject', json_build_object('reference', 'Patient/' || patient_id),
         'code', json_build_object('coding', json_build_array(
            json_build_object('system', 'http://loinc.org', 'code', code))),
         'effectiveDateTime', to_char(to_timestamp(at_us / 1e6) AT TIME ZONE 'UTC',
            'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         'valueQuantity', CASE WHEN panel THEN NULL ELSE json_build_object(
            'value', v1, 'unit', unit, 'system', 'http://unitsofmeasure.org', 'code', unit) END
       )::text, 'UTF8') FROM mv_obs""",
    """INSERT INTO compartment (patient_id, resource_type, resource_id)
       SELECT patient_id, 'Observation', rid FROM mv_obs""",
    """INSERT INTO index_token (resource_type, resource_id, patient_id, param, system, code)
       SELECT 'Observation', rid, patient_id, t.param, t.system, t.code FROM mv_obs,
       LATERAL (VALUES
         ('category', 'http://terminology.hl7.org/CodeSystem/observation-category',
          'vital-signs'),
         ('code', 'http://loinc.org', code),
         ('status', 'http://hl7.org/fhir/observation-status', 'final'),
         ('identifier', 'urn:example:home-monitoring:measurement', rid)) AS t(param, system, code)
       UNION ALL
       SELECT 'Observation', rid, patient_id, 'component-code', 'http://loinc.org', c.code
       FROM mv_obs, LATERAL (VALUES ('8480-6'), ('8462-4')) AS c(code) WHERE panel""",
    """INSERT INTO index_date (resource_type, resource_id, patient_id, param, low_us, high_us)
       SELECT 'Observation', rid, patient_id, 'date', at_us, at_us + 1000000 FROM mv_obs""",
    """INSERT INTO index_quantity (resource_type, resource_id, patient_id, param, value, low,
         high, system, code, unit)
       SELECT 'Observation', rid, patient_id, q.param, q.v, q.v - 0.05, q.v + 0.05,
         'http://unitsofmeasure.org', unit, unit
       FROM mv_obs, LATERAL (VALUES ('value-quantity', v1, NOT panel),
         ('component-value-quantity', v1, panel),
         ('component-value-quantity', v2, panel)) AS q(param, v, wanted) WHERE q.wanted""",
    """INSERT INTO index_composite (resource_type, resource_id, patient_id, param, value_key)
       SELECT 'Observation', rid, patient_id, k.param, k.key FROM mv_obs,
       LATERAL (VALUES
         ('code-value-quantity', 'http://loinc.org|' || code || '$' || v1, NOT panel),
         ('component-code-value-quantity', 'http://loinc.org|8480-6$' || v1, panel),
         ('component-code-value-quantity', 'http://loinc.org|8462-4$' || v2, panel))
         AS k(param, key, wanted) WHERE k.wanted""",
    """INSERT INTO index_reference (resource_type, resource_id, patient_id, param,
         target_type, target_id)
       SELECT 'Observation', rid, patient_id, r.param, 'Patient', patient_id FROM mv_obs,
       LATERAL (VALUES ('subject'), ('patient')) AS r(param)""",
)


def load(url: str, observations: int, per_day: int, chunk: int) -> dict[str, Any]:
    """Give citizens without measurements a year of them until `observations` are there."""
    per_patient = 365 * per_day
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as connection:
        have = _loaded(connection)
        while have < observations:
            wanted = min(chunk, -(-(observations - have) // per_patient))
            patients = connection.execute(
                """SELECT resource_id FROM resource r WHERE resource_type = 'Patient'
                   AND resource_id LIKE 'demo-%%' AND NOT EXISTS (SELECT 1 FROM compartment c
                   WHERE c.patient_id = r.resource_id AND c.resource_id = %s || '-' ||
                   r.resource_id || '-0') ORDER BY resource_id LIMIT %s""",
                (PREFIX, wanted),
            ).fetchall()
            if not patients:
                raise SystemExit(f"no citizen left without measurements at {have}")
            with connection.transaction():
                connection.execute("CREATE TEMP TABLE mv_patient (patient_id text)")
                with connection.cursor().copy("COPY mv_patient FROM STDIN") as copy:
                    for (patient,) in patients:
                        copy.write_row((patient,))
                connection.execute(_obs_sql(per_day))
                for sql in INSERTS:
                    connection.execute(sql)
                connection.execute("DROP TABLE mv_obs")
                connection.execute("DROP TABLE mv_patient")
            have += len(patients) * per_patient
            rate = have / (time.monotonic() - started)
            print(f"[volume] {have} measurements ({rate:.0f}/s)", file=sys.stderr, flush=True)
        connection.execute("VACUUM ANALYZE")
    return {"observations": have, "load_s": round(time.monotonic() - started, 1)}


def _loaded(connection: psycopg.Connection[Any]) -> int:
    row = connection.execute(
        "SELECT count(*) FROM resource WHERE resource_type = 'Observation' AND resource_id LIKE %s",
        (f"{PREFIX}-%",),
    ).fetchone()
    return int(row[0]) if row else 0


def measure(url: str, requests: int, seed: int, cpus: str | None) -> dict[str, Any]:
    """p50/p95/p99 of 30-day daily aggregates for random loaded patients, one at a time."""
    from bench.procstats import postgres_backends, tree_cpu
    from bench.server import start_server

    with psycopg.connect(url) as connection:
        observations = _loaded(connection)
        patients = [
            row[0]
            for row in connection.execute(
                "SELECT DISTINCT patient_id FROM compartment WHERE resource_id LIKE %s"
                " AND resource_id LIKE '%%-0'",
                (f"{PREFIX}-%",),
            )
        ]
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="bench-volume-"))
    server = start_server("samhandling", url, work_dir=work, cpus=cpus)
    try:
        headers = server.headers("gp")
        timings: list[float] = []
        load_before = load_average()
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            for _ in range(5):  # warm-up
                client.get("/Observation/$aggregate", params=_query(rng, patients, 0))
            cpu_before = tree_cpu(server.pid)
            backends = [  # the server's connections, not autovacuum's
                pid
                for pid in postgres_backends(url.rsplit("/", 1)[1])
                if b"autovacuum" not in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            db_before = sum(tree_cpu(pid) for pid in backends)
            for i in range(requests):
                query = _query(rng, patients, i)
                started = time.perf_counter()
                response = client.get("/Observation/$aggregate", params=query)
                timings.append(1000 * (time.perf_counter() - started))
                if response.status_code != 200 or len(response.json()["parameter"]) < 20:
                    raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
            cpu = tree_cpu(server.pid) - cpu_before
            db_cpu = sum(tree_cpu(pid) for pid in backends) - db_before
    finally:
        server.stop()
    cuts = statistics.quantiles(timings, n=100)
    return {
        "observations": observations,
        "patients": len(patients),
        "requests": requests,
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
        "server_cpu_ms_per_request": round(1000 * cpu / requests, 2),
        "database_cpu_ms_per_request": round(1000 * db_cpu / requests, 2),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


def _query(rng: random.Random, patients: list[str], i: int) -> dict[str, str]:
    end_day = rng.randrange(30, 365)
    start_us = YEAR_START_US + (end_day - 30) * DAY_US
    code = "http://loinc.org|8867-4" if i % 2 == 0 else "http://loinc.org|8480-6"
    return {
        "patient": f"Patient/{rng.choice(patients)}",
        "code": code,
        "start": _instant(start_us),
        "end": _instant(start_us + 30 * DAY_US),
        "interval": "day",
    }


def _instant(us: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(us // 1_000_000))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.measurement_volume")
    parser.add_argument("command", choices=("load", "measure"))
    parser.add_argument("--database", required=True, help="postgresql://… (demo population)")
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--per-day", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=20, help="patients per transaction")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--cpus", default="0", help="the server's core (taskset); '' for none")
    args = parser.parse_args(argv)
    if args.command == "load":
        result = load(args.database, args.observations, args.per_day, args.chunk)
    else:
        result = measure(args.database, args.requests, args.seed, args.cpus or None)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
