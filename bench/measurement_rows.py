"""What a measurement's rows cost PostgreSQL, with nothing else (issue #20).

`python -m bench.measurement_rows --database URL [--rounds N] [--repeat K] [--variants …]`

URL is a **scratch copy** of a database that holds measurements (e.g. `createdb -T
ingest20_demo scratch` after a `--workloads measurements` run): the tool writes into it.
It takes the stored rows of 100 Observations from every table the write path fills (the
current row, the version, the outbox, the compartment, the index tables) and 100 audit
records, and writes them again under new resource ids, by COPY, one transaction per 100
measurements, as a Bundle's chunk commit does — without the FHIR work, the look-ups or the
locks. The PostgreSQL backend's own CPU (from `/proc`, so the load generator and other
processes do not count) divided by the measurements written is the floor that this row
layout puts under the database's CPU per measurement.

Variants (comma-separated; words joined by `+` combine, e.g. `narrow+link`):
`all` (everything, the audit records' chain-link UPDATE included), `link` (no link UPDATE),
`audit` (no audit records), `noindex` (no index rows at all), `narrow` (instead of the
index rows, one row per measurement in a narrow table with one index — the shape a
measurement-specific layout would have; the table `bench_measurement_narrow` is created),
`measurement` (instead of the index rows, one row per measurement with every value the
index rows held — code, category, status, identifier, device, time, value and unit — and
the five indexes a search answering from it through views would need: by resource id, by
patient, code and time, by code, by identifier and by device, code and time; the table
`bench_measurement_row` is created), `ordered` (the rows under version-7 ids, ordered by
time, as the server assigns them since 4f60b03, instead of version-4 ones).
The variants run interleaved, `--repeat` times, so the host's drift hits all alike.
"""

from __future__ import annotations

import argparse
import os
import uuid
from typing import Any

import psycopg

from samhandling.interactions.resource_ids import new_resource_id

WRITTEN = (
    "resource",
    "resource_version",
    "outbox",
    "compartment",
    "index_token",
    "index_date",
    "index_reference",
    "index_quantity",
    "index_composite",
    "index_text",
)
CHAIN_COLUMNS = ("chain_pos", "prev_hash", "hash")
NARROW = (
    "CREATE TABLE IF NOT EXISTS bench_measurement_narrow (patient_id varchar(64), code text,"
    " low_us bigint, value double precision, resource_id varchar(64));"
    " CREATE INDEX IF NOT EXISTS ix_bench_measurement_narrow"
    " ON bench_measurement_narrow (patient_id, code, low_us) INCLUDE (value)"
)
MEASUREMENT_ROW = (
    "CREATE TABLE IF NOT EXISTS bench_measurement_row (resource_id varchar(64) PRIMARY KEY,"
    " patient_id varchar(64), code_system text, code text, category text, status text,"
    " low_us bigint, high_us bigint, value numeric, unit_system text, unit_code text,"
    " identifier_system text, identifier_value text, device_system text, device_value text);"
    " CREATE INDEX IF NOT EXISTS ix_bench_mrow_patient"
    " ON bench_measurement_row (patient_id, code, low_us) INCLUDE (value);"
    " CREATE INDEX IF NOT EXISTS ix_bench_mrow_code ON bench_measurement_row (code, code_system);"
    " CREATE INDEX IF NOT EXISTS ix_bench_mrow_identifier"
    " ON bench_measurement_row (identifier_value, identifier_system);"
    " CREATE INDEX IF NOT EXISTS ix_bench_mrow_device"
    " ON bench_measurement_row (device_value, code, low_us)"
)
PER_ROUND = 100
WARM_UP = 10


def backend_cpu_s(pid: int) -> float:
    """User and system CPU seconds of a local process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sample:
    """The stored rows of 100 measurements and 100 audit records, read once."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.ids = [
            row[0]
            for row in conn.execute(
                "SELECT resource_id FROM resource WHERE resource_type = 'Observation'"
                " ORDER BY resource_id LIMIT %s",
                (PER_ROUND,),
            )
        ]
        self.columns: dict[str, list[str]] = {}
        self.rows: dict[str, list[tuple[Any, ...]]] = {}
        for table in WRITTEN:
            self._read(conn, table, f"SELECT * FROM {table} WHERE resource_id = ANY(%s)", self.ids)
        self._read(
            conn,
            "audit_event",
            "SELECT * FROM audit_event ORDER BY event_id DESC LIMIT %s",
            PER_ROUND,
        )
        found = conn.execute("SELECT patient_id FROM resource WHERE patient_id IS NOT NULL LIMIT 1")
        self.patient = found.fetchone()[0]  # type: ignore[index]
        conn.commit()

    def _read(self, conn: psycopg.Connection[Any], table: str, sql: str, arg: Any) -> None:
        cursor = conn.execute(sql, (arg,))
        self.columns[table] = [column.name for column in cursor.description or ()]
        self.rows[table] = cursor.fetchall()


def write_round(
    cur: psycopg.Cursor[Any], sample: Sample, left_out: set[str], first_event: int, n: int
) -> None:
    """One chunk's rows under new ids, by COPY (and the link UPDATE unless left out)."""
    fresh = new_resource_id if "ordered" in left_out else _random_id
    new_ids = {old: fresh() for old in sample.ids}
    for table in WRITTEN:
        if table in left_out or (
            table.startswith("index_") and left_out & {"noindex", "narrow", "measurement"}
        ):
            continue
        columns = [c for c in sample.columns[table] if c != "event_id"]
        at = sample.columns[table].index("resource_id")
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in sample.rows[table]:
                values = list(row)
                values[at] = new_ids[values[at]]
                if "event_id" in sample.columns[table]:
                    del values[sample.columns[table].index("event_id")]
                copy.write_row(values)
    if "narrow" in left_out:
        with cur.copy("COPY bench_measurement_narrow FROM STDIN") as copy:
            for k, new in enumerate(new_ids.values()):
                at_us = 1_700_000_000_000_000 + n * 1000 + k
                copy.write_row((sample.patient, "8867-4", at_us, 72.0, new))
    if "measurement" in left_out:
        _measurement_rows(cur, sample, new_ids, n)
    if "audit" not in left_out:
        _audit(cur, sample, "link" not in left_out, first_event)


def _random_id() -> str:
    return str(uuid.uuid4())


def _measurement_rows(
    cur: psycopg.Cursor[Any], sample: Sample, new_ids: dict[str, str], n: int
) -> None:
    """One wide row per measurement, its values as distinct as real measurements' are."""
    with cur.copy("COPY bench_measurement_row FROM STDIN") as copy:
        for k, new in enumerate(new_ids.values()):
            at_us = 1_700_000_000_000_000 + (n * PER_ROUND + k) * 1_000_000
            device = f"{sample.patient}-device"
            code = ("8867-4", "59408-5", "8310-5")[k % 3]
            copy.write_row(
                (
                    *(new, sample.patient, "http://loinc.org", code, "vital-signs", "final"),
                    *(at_us, at_us + 1_000_000, 72.0 + k % 7, "http://unitsofmeasure.org", "/min"),
                    *("urn:example:measurement", f"{device}/{at_us}", "urn:example:device", device),
                )
            )


def _audit(cur: psycopg.Cursor[Any], sample: Sample, link: bool, first_event: int) -> None:
    columns = [c for c in sample.columns["audit_event"] if c not in CHAIN_COLUMNS]
    picks = [sample.columns["audit_event"].index(c) for c in columns]
    # as many as the sample holds (a database with fewer than 100 audit records gives
    # fewer: its patient rows and links must name only the events written)
    events = list(range(first_event, first_event + len(sample.rows["audit_event"])))
    with cur.copy(f"COPY audit_event ({', '.join(columns)}) FROM STDIN") as copy:
        for event, row in zip(events, sample.rows["audit_event"], strict=True):
            values = [row[i] for i in picks]
            values[columns.index("event_id")] = event
            copy.write_row(values)
    with cur.copy("COPY audit_patient (event_id, patient_id) FROM STDIN") as copy:
        for event in events:
            copy.write_row((event, sample.patient))
    if link:
        base = cur.execute("SELECT coalesce(max(chain_pos), 0) FROM audit_event").fetchone()[0]  # type: ignore[index]
        cur.execute(
            "UPDATE audit_event AS e SET chain_pos = v.pos, prev_hash = v.h, hash = v.h"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v(id, pos, h)"
            " WHERE e.event_id = v.id",
            (events, [base + 1 + k for k in range(len(events))], ["0" * 64] * len(events)),
        )


def measure(url: str, variant: str, rounds: int) -> float:
    """Database CPU ms per measurement for `variant`, after the warm-up rounds."""
    left_out = set() if variant == "all" else set(variant.split(","))
    with psycopg.connect(url) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        if "narrow" in left_out:
            conn.execute(NARROW)
        if "measurement" in left_out:
            conn.execute(MEASUREMENT_ROW)
        sample = Sample(conn)
        highest = conn.execute("SELECT coalesce(max(event_id), 0) FROM audit_event").fetchone()
        first = highest[0] + 10_000_000  # type: ignore[index]
        spent = 0.0
        for n in range(WARM_UP + rounds):
            before = backend_cpu_s(pid)
            with conn.cursor() as cur:
                write_round(cur, sample, left_out, first + n * PER_ROUND, n)
            conn.commit()
            if n >= WARM_UP:
                spent += backend_cpu_s(pid) - before
    return spent / (rounds * PER_ROUND) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True, help="a scratch copy (it is written)")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", default="all,link,audit,noindex,narrow")
    args = parser.parse_args()
    variants = args.variants.split(",")
    found: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(args.repeat):
        for variant in variants:
            found[variant].append(measure(args.database, variant.replace("+", ","), args.rounds))
    for variant, values in found.items():
        shown = " / ".join(f"{v:.3f}" for v in values)
        print(f"{variant:>16}: {shown} ms database CPU per measurement")


if __name__ == "__main__":
    main()
