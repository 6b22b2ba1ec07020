"""The planner's statistics kept fresh by the store itself, after large write volumes.

Without statistics both planners plan the search's index probes as if the tables were
empty: on 20 freshly loaded Synthea patients `Observation?patient&category&date` read
207,000 buffers in 190 ms on PostgreSQL instead of 800 in 8 ms (EXPLAIN ANALYZE,
bench/RESULTS.md). `samhandling import` analyses at its end (`refresh_statistics`), and
autovacuum does it in a deployment that runs it, but a database filled through the API
(transactions, batches) on a server without autovacuum would stay slow until someone ran
`ANALYZE`.

So every process counts the rows the write path inserts per table (`note_written`, from
the index buffer: version, index and compartment rows) and, once a table has taken
`Thresholds.min_rows` rows, or `Thresholds.growth` times the rows it held at its last
refresh, `ANALYZE`s it in a background thread — never in the request that crossed the line,
which only counts and wakes the thread. The rule is autovacuum's
(`autovacuum_analyze_threshold` + `autovacuum_analyze_scale_factor` × rows); the thread
pauses `PAUSE_SECONDS` between passes, as autovacuum's naptime. At start the thread also
analyses tables that hold rows but were never analysed (a database loaded by an earlier
process).

Each process counts only its own writes (`serve --workers N`: each refreshes after about
its share), and an ANALYZE seen by one process is not known to the others: at worst a
table is analysed a little more often than needed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from weakref import WeakKeyDictionary, ref

from sqlalchemy import Connection, Engine, text

from samhandling.store.database import is_sqlite, lift_statement_timeout
from samhandling.store.planner_statistics import analyse_tables

log = logging.getLogger("samhandling.store.statistics")

#: what the searches plan over; writes to other tables are not counted
TRACKED_TABLES = (
    "resource",
    "compartment",
    "index_token",
    "index_reference",
    "index_date",
    "index_string",
    "index_quantity",
    "index_number",
    "index_uri",
    "index_composite",
    "index_text",
)
# A new version is a resource row written or replaced: it counts for `resource`, whose rows
# are written at once, outside the index buffer.
_COUNTED_AS = {"resource_version": "resource"}
# SQLite's ANALYZE holds the write lock while it runs: an approximate one (a sample of
# about this many rows per index, `PRAGMA analysis_limit`) keeps writers waiting briefly.
SQLITE_ANALYSIS_LIMIT = 1000
# At least this long between two passes of the thread (an ANALYZE of a table of a million
# index rows reads a sample of up to 300,000 of them).
PAUSE_SECONDS = 10.0
# The share of the time the thread's ANALYZEs may take at most, as autovacuum's cost delay
# bounds its work: after a pass of d seconds it waits d × (1 / SHARE − 1) if that is longer
# than PAUSE_SECONDS. The index tables' extended statistics keep 1,000–5,000 most common
# values (migrations 0011, 0022), so PostgreSQL's ANALYZE samples up to 300 × that many
# rows: `index_token` at 240,000 rows took 2.2 s, every 10 s during a measurement ingest
# (a fifth of the database's core; bench/RESULTS.md, "The statistics upkeep's share"), and
# 3.1–3.3 s at 325,000 until migration 0029 left out the functional dependencies (1.3–1.4 s).
ANALYSE_SHARE = 0.05


@dataclass(frozen=True)
class Thresholds:
    """When a table is analysed again: after `min_rows` written, or `growth` times the rows
    it held at its last refresh if that is more."""

    min_rows: int = 2000
    growth: float = 0.2

    def crossed(self, written: int, known_rows: int) -> bool:
        return written >= max(self.min_rows, self.growth * known_rows)


class StatisticsUpkeep:
    """Counts the rows written per table and refreshes the statistics of those past their
    threshold; `start` runs the refreshes in a daemon thread."""

    def __init__(
        self,
        engine: Engine,
        thresholds: Thresholds | None = None,
        *,
        pause_seconds: float = PAUSE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # weakly: the registry below is keyed weakly by the engine, and its values must not
        # keep the key alive (an app's engine is dropped with the app)
        self._engine = ref(engine)
        self.thresholds = thresholds or Thresholds()
        self.pause_seconds = pause_seconds
        self.clock = clock
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._written: Counter[str] = Counter()
        self._known_rows: dict[str, int] = {}
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.last_refreshed: list[str] = []  # the tables of the thread's last pass
        self.last_pause: float | None = None  # seconds it waited after it
        self.cycles = 0  # passes of the thread so far (for tests)
        self._passed = threading.Condition()

    def note_written(self, table: str, rows: int) -> None:
        """Count `rows` inserted into `table` (cheap: the request's thread calls it)."""
        name = _COUNTED_AS.get(table, table)
        if name not in TRACKED_TABLES or rows <= 0:
            return
        with self._lock:
            self._written[name] += rows
            crossed = self.thresholds.crossed(self._written[name], self._known_rows.get(name, 0))
        if crossed:
            self._wake.set()

    @property
    def engine(self) -> Engine:
        engine = self._engine()
        if engine is None:
            raise RuntimeError("the engine of this statistics upkeep is gone")
        return engine

    def pending(self, table: str) -> int:
        """Rows written to `table` since its last refresh (as counted by this process)."""
        with self._lock:
            return self._written[table]

    def due(self) -> list[str]:
        """The tables written past their threshold since their last refresh."""
        with self._lock:
            return [
                table
                for table in TRACKED_TABLES
                if self.thresholds.crossed(self._written[table], self._known_rows.get(table, 0))
            ]

    def refresh_due(self) -> list[str]:
        """ANALYZE every table past its threshold, now, in the caller's thread."""
        tables = self.due()
        with self._lock:  # writes during the ANALYZE count towards the next one
            for table in tables:
                self._written[table] = 0
        self._analyse(tables)
        return tables

    def refresh_never_analysed(self) -> list[str]:
        """ANALYZE the tables that hold rows but have no statistics yet; remember the row
        counts of the others (the base of their thresholds)."""
        with self.engine.connect() as connection:
            estimates = row_estimates(connection, TRACKED_TABLES)
            bare = [t for t, rows in estimates.items() if rows is None and _has_rows(connection, t)]
        with self._lock:
            self._known_rows.update({t: rows for t, rows in estimates.items() if rows})
        self._analyse(bare)
        return bare

    def _analyse(self, tables: list[str]) -> None:
        if not tables:
            return
        engine = self.engine
        if is_sqlite(engine):
            with engine.begin() as connection:
                lift_statement_timeout(connection)
                connection.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
                for table in tables:
                    connection.exec_driver_sql(f'ANALYZE "{table}"')  # a name of ours
                # the pooled connection's next ANALYZE may be whole
                connection.exec_driver_sql("PRAGMA analysis_limit=0")
        else:  # a transaction per table: no lock kept while the next is waited for
            analyse_tables(engine, tables)
        with engine.connect() as connection:
            estimates = row_estimates(connection, tables)
        with self._lock:
            self._known_rows.update({t: rows for t, rows in estimates.items() if rows})
        log.info("planner statistics refreshed", extra={"tables": tables})

    def wait_for_cycles(self, count: int, timeout: float) -> bool:
        """Whether the thread made `count` passes within `timeout` seconds (for tests)."""
        with self._passed:
            return self._passed.wait_for(lambda: self.cycles >= count, timeout)

    # --- the background thread ---------------------------------------------------------

    def start(self) -> None:
        """Run the refreshes in a daemon thread until `stop`."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="statistics-upkeep", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        self._guarded(self.refresh_never_analysed)
        while not self._stopping:
            self._wake.wait()
            self._wake.clear()
            if not self._stopping:
                started = self.clock()
                self._guarded(self.refresh_due)
                # rows written meanwhile wait for the next pass: during a long load the
                # tables are analysed every so often, not after every 20% of growth
                self.last_pause = pause_after(self.clock() - started, self.pause_seconds)
                self._stopped.wait(self.last_pause)

    def _guarded(self, action: Callable[[], list[str]]) -> None:
        # A failed refresh (the database restarting, a lock timeout) costs only planning
        # quality: it is logged and tried again at the next threshold, never raised.
        try:
            self.last_refreshed = action()
        except Exception:
            log.warning("planner statistics not refreshed", exc_info=True)
        with self._passed:
            self.cycles += 1
            self._passed.notify_all()


def pause_after(pass_seconds: float, pause_seconds: float, share: float = ANALYSE_SHARE) -> float:
    """How long the thread waits after a pass that took `pass_seconds`: at least
    `pause_seconds`, and long enough that its ANALYZEs take at most `share` of the time."""
    return max(pause_seconds, pass_seconds * (1 / share - 1))


def row_estimates(connection: Connection, tables: Iterable[str]) -> dict[str, int | None]:
    """The rows each table held at its last ANALYZE (None: never analysed)."""
    names = list(tables)
    if is_sqlite(connection):
        if not connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).first():
            return dict.fromkeys(names)
        counted: dict[str, int] = dict(
            connection.execute(
                text("SELECT tbl, max(CAST(stat AS INTEGER)) FROM sqlite_stat1 GROUP BY tbl")
            ).all()
        )
        return {t: counted.get(t) for t in names}
    # A table, or the sum of its partitions on the patient-partitioned layout (leaf tables
    # only); reltuples is -1 until the first ANALYZE (PostgreSQL 14 and later).
    found: dict[str, int] = dict(
        connection.execute(
            text(
                "SELECT parent.relname, sum(rel.reltuples)::bigint FROM pg_class parent"
                " JOIN pg_class rel ON rel.relkind = 'r' AND (rel.oid = parent.oid OR rel.oid IN"
                " (SELECT inhrelid FROM pg_inherits WHERE inhparent = parent.oid))"
                " WHERE parent.relname = ANY(:names) AND rel.reltuples >= 0"
                " AND parent.relnamespace = CAST(current_schema() AS regnamespace)"
                " GROUP BY parent.relname"
            ),
            {"names": names},
        ).all()
    )
    return {t: (int(found[t]) if t in found else None) for t in names}


def _has_rows(connection: Connection, table: str) -> bool:
    return connection.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first() is not None


_UPKEEP: WeakKeyDictionary[Engine, StatisticsUpkeep] = WeakKeyDictionary()


def keep_fresh(engine: Engine, thresholds: Thresholds | None = None) -> StatisticsUpkeep:
    """Count the writes through `engine` from now on (`note_written`); the caller starts and
    stops the upkeep's thread (the server does, in its lifespan)."""
    upkeep = _UPKEEP.get(engine)
    if upkeep is None:
        upkeep = _UPKEEP[engine] = StatisticsUpkeep(engine, thresholds)
    return upkeep


def note_written(engine: Engine, table: str, rows: int) -> None:
    """Count rows inserted through `engine` (nothing when no upkeep is kept for it)."""
    upkeep = _UPKEEP.get(engine)
    if upkeep is not None:
        upkeep.note_written(table, rows)
