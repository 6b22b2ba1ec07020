"""Ceiling (b): the same rows the server wrote, inserted straight through the driver.

    python -m bench.ceilings.driver_insert SPEC.json RESULT.json

SPEC names the source database (where the server wrote an ingest), the range of transaction
ids the ingest used, a target database with the same (empty) schema, the batch size and the
number of concurrent connections. Before the clock starts, every row the server wrote for
those transactions is read back: `resource`, `resource_version`, all index tables,
`compartment` and `outbox` (generated keys left out). Then the clock runs while the rows are
inserted into the target, one database transaction per batch, exactly as the server would
have to: a `transaction_log` row first (its id becomes the batch's tx id), then one
`executemany` per table. Batches:

- "bundle": the resources of one source transaction (one Synthea Bundle), the ingest shape;
- an integer n: n resources per transaction (1 = the single-resource create shape), taken
  from the resource types in `types` when given.

psycopg 3 sends an executemany as one pipeline; sqlite3 runs it in C. There is no Python
per resource beyond building the parameter tuples, no validation and no index extraction:
what the server spends beyond this is ours. The process is pinned to the server's core.
The audit trail's rows are not part of the ceiling (resource, versions and index rows are).
"""

from __future__ import annotations

import queue
import sqlite3
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from bench.stats import latency_summary

INDEX_TABLES = (
    "index_token",
    "index_string",
    "index_date",
    "index_number",
    "index_quantity",
    "index_reference",
    "index_uri",
    "index_composite",
)
GENERATED = {"row_id", "event_id"}
TABLES = ("transaction_log", "resource", "resource_version", *INDEX_TABLES, "compartment", "outbox")

Key = tuple[str, str]


class Db:
    """The little the ceiling needs from either driver."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.connection: Any = sqlite3.connect(
                url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
            )
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self.connection.execute("PRAGMA busy_timeout=30000")
            self.mark = "?"
        else:
            import psycopg

            conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
            self.connection = psycopg.connect(conninfo)
            self.mark = "%s"

    def query(
        self, sql: str, args: tuple[Any, ...] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.connection.cursor()
        cursor.execute(sql.replace("?", self.mark), args)
        columns = [d[0] for d in cursor.description]
        rows = [tuple(r) for r in cursor.fetchall()]
        if not self.sqlite:
            self.connection.commit()
        return columns, rows

    def begin(self) -> Any:
        cursor = self.connection.cursor()
        if self.sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        return cursor

    def commit(self) -> None:
        if self.sqlite:
            self.connection.execute("COMMIT")
        else:
            self.connection.commit()

    def close(self) -> None:
        self.connection.close()


class Rows:
    """Every row of the source transactions, per table, keyed by resource."""

    def __init__(self) -> None:
        self.columns: dict[str, list[str]] = {}
        self.by_key: dict[str, dict[Key, list[tuple[Any, ...]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.tx_of: dict[Key, int] = {}
        self.type_of: dict[Key, str] = {}

    def resources_by_tx(self) -> dict[int, list[Key]]:
        groups: dict[int, list[Key]] = defaultdict(list)
        for key, tx in self.tx_of.items():
            groups[tx].append(key)
        return dict(sorted(groups.items()))


def extract(db: Db, tx_low: int, tx_high: int) -> Rows:
    """Read back everything written by transactions tx_low < tx <= tx_high."""
    rows = Rows()
    in_range = "tx_id > ? AND tx_id <= ?"
    columns, found = db.query(f"SELECT * FROM resource WHERE {in_range}", (tx_low, tx_high))
    rows.columns["resource"] = columns
    t, i, x = (columns.index(c) for c in ("resource_type", "resource_id", "tx_id"))
    for row in found:
        key = (row[t], row[i])
        rows.tx_of[key] = row[x]
        rows.type_of[key] = row[t]
        rows.by_key["resource"][key].append(row)
    for table in ("resource_version", "outbox"):
        columns, found = db.query(f"SELECT * FROM {table} WHERE {in_range}", (tx_low, tx_high))
        _keep(rows, table, columns, found)
    for table in (*INDEX_TABLES, "compartment"):
        columns, found = db.query(
            f"SELECT i.* FROM {table} i JOIN resource r ON r.resource_type = i.resource_type"
            f" AND r.resource_id = i.resource_id WHERE r.{in_range}",
            (tx_low, tx_high),
        )
        _keep(rows, table, columns, found)
    return rows


def _keep(rows: Rows, table: str, columns: list[str], found: list[tuple[Any, ...]]) -> None:
    keep = [n for n, c in enumerate(columns) if c not in GENERATED]
    rows.columns[table] = [columns[n] for n in keep]
    t, i = columns.index("resource_type"), columns.index("resource_id")
    for row in found:
        key = (row[t], row[i])
        if key in rows.tx_of:
            rows.by_key[table][key].append(tuple(row[n] for n in keep))


def make_batches(rows: Rows, batch: str | int, types: list[str] | None) -> list[list[Key]]:
    if batch == "bundle":
        return list(rows.resources_by_tx().values())
    keys = [k for k in rows.tx_of if not types or rows.type_of[k] in types]
    keys.sort(key=lambda k: (k[1], k[0]))  # ids are random: an even mix of types
    size = int(batch)
    return [keys[n : n + size] for n in range(0, len(keys), size)]


class Inserter:
    """Inserts batches; the tx_id column of every row is replaced by the batch's own."""

    def __init__(self, db: Db, rows: Rows) -> None:
        self.db = db
        self.rows = rows
        self.sql: dict[str, str] = {}
        self.tx_index: dict[str, int] = {}
        for table, columns in rows.columns.items():
            marks = ", ".join([db.mark] * len(columns))
            self.sql[table] = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            if "tx_id" in columns:
                self.tx_index[table] = columns.index("tx_id")
        self.tx_sql = (
            f"INSERT INTO transaction_log (committed_at_us) VALUES ({db.mark}) RETURNING tx_id"
        )

    def insert(self, keys: list[Key]) -> int:
        """One database transaction for the batch; returns the number of rows written."""
        cursor = self.db.begin()
        cursor.execute(self.tx_sql, (int(time.time() * 1e6),))
        tx_id = cursor.fetchone()[0]
        written = 1
        for table, sql in self.sql.items():
            params = [r for key in keys for r in self.rows.by_key[table].get(key, ())]
            if not params:
                continue
            if table in self.tx_index:
                n = self.tx_index[table]
                params = [(*r[:n], tx_id, *r[n + 1 :]) for r in params]
            cursor.executemany(sql, params)
            written += len(params)
        self.db.commit()
        return written


def truncate(db: Db) -> None:
    cursor = db.begin()
    for table in TABLES:
        cursor.execute(f"DELETE FROM {table}")
    db.commit()


def run(spec: dict[str, Any]) -> dict[str, Any]:
    source = Db(spec["source_url"])
    rows = extract(source, int(spec["tx_low"]), int(spec["tx_high"]))
    source.close()
    batches = make_batches(rows, spec["batch"], spec.get("types"))
    max_resources = int(spec.get("max_resources", 10**9))
    selected, count = [], 0
    for keys in batches:
        if count >= max_resources:
            break
        selected.append(keys)
        count += len(keys)
    target_url = spec["target_url"]
    setup = Db(target_url)
    truncate(setup)
    setup.close()
    threads = int(spec.get("concurrency", 1))
    work: queue.Queue[list[Key]] = queue.Queue()
    for keys in selected:
        work.put(keys)
    duration_s = float(spec.get("duration_s", 120))
    deadline = float("inf")  # set when the clock starts
    lock = threading.Lock()
    latencies: list[float] = []
    totals = {"resources": 0, "rows": 0, "batches": 0}
    errors: list[str] = []
    connections = [Db(target_url) for _ in range(threads)]

    def worker(db: Db) -> None:
        inserter = Inserter(db, rows)
        while time.monotonic() < deadline:
            try:
                keys = work.get_nowait()
            except queue.Empty:
                return
            start = time.perf_counter()
            try:
                written = inserter.insert(keys)
            except Exception as exc:  # a ceiling that fails is reported, not hidden
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                return
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                totals["resources"] += len(keys)
                totals["rows"] += written
                totals["batches"] += 1

    mono0, cpu0 = time.monotonic(), time.process_time()
    deadline = mono0 + duration_s
    workers = [threading.Thread(target=worker, args=(db,)) for db in connections]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    mono1 = time.monotonic()
    cpu = time.process_time() - cpu0
    for db in connections:
        db.close()
    wall = max(mono1 - mono0, 1e-9)
    return {
        "batch": spec["batch"],
        "concurrency": threads,
        "types": spec.get("types"),
        "window_monotonic": [mono0, mono1],
        "measured_s": wall,
        "batches": totals["batches"],
        "resources": totals["resources"],
        "rows": totals["rows"],
        "resources_per_s": totals["resources"] / wall,
        "rows_per_s": totals["rows"] / wall,
        "batches_per_s": totals["batches"] / wall,
        "batch_latency_ms": latency_summary(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "process_cpu_seconds": cpu,
        "stopped_by": "time" if work.qsize() else "exhausted",
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    spec = orjson.loads(Path(argv[0]).read_bytes())
    Path(argv[1]).write_bytes(orjson.dumps(run(spec), option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
