"""What the benchmark database's backends do during a workload (`full --db-activity`).

A thread of the harness reads `pg_stat_activity` every `INTERVAL_S` while the workload is
measured and counts each backend of the benchmark database by what it was doing: `idle`,
`idle in transaction` (waiting for the server's next statement), or active — its wait
event (`Client:ClientRead` is a COPY waiting for its data, `IO:WALSync` a COMMIT flushing
the WAL, `Lock:…`) or `running` when it has none, that is on the database's core or queued
for it — with the first words of its statement. The average number of backends in each
state over the samples says where the database's time goes: with the backends pinned to
one core, the `running` shares split that core. (So it found the server's own statistics
upkeep `ANALYZE`-ing `index_token` through two fifths of the database's core during a
measurement ingest: bench/RESULTS.md, "The statistics upkeep's ANALYZE".)

Its reads cost the load core ≈ 0.1–0.3 ms each (a few per cent of it at the default
interval): off unless asked for. PostgreSQL only.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

import psycopg

INTERVAL_S = 0.005
STATEMENT_CHARS = 60
TOP = 15

_STATES = (
    "SELECT state, wait_event_type || ':' || wait_event, query FROM pg_stat_activity"
    " WHERE datname = %s AND pid <> pg_backend_pid()"
)
_SPACE = re.compile(r"\s+")


def classify(rows: Iterable[tuple[str | None, str | None, str | None]]) -> Counter[str]:
    """Each backend (state, wait event, statement) as one state's name."""
    counted: Counter[str] = Counter()
    for state, wait, query in rows:
        if state != "active":
            counted[state or "unknown"] += 1
            continue
        statement = _SPACE.sub(" ", query or "").strip()[:STATEMENT_CHARS]
        counted[f"{wait or 'running'}: {statement}"] += 1
    return counted


class ActivitySampler:
    """Samples the backends of `database` (on the server `url` reaches) until `stop`."""

    def __init__(self, url: str, database: str, *, interval_s: float = INTERVAL_S) -> None:
        self.url, self.database, self.interval_s = url, database, interval_s
        self.samples = 0
        self.counted: Counter[str] = Counter()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="db-activity", daemon=True)
        self.error: str | None = None

    def start(self) -> ActivitySampler:
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        """Stop sampling; the summary (`summary`)."""
        self._stopped.set()
        self._thread.join(timeout=10)
        return summary(self.counted, self.samples, self.error)

    def _run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True) as connection:
                while not self._stopped.is_set():
                    rows = connection.execute(_STATES, (self.database,)).fetchall()
                    self.counted.update(classify(rows))
                    self.samples += 1
                    self._stopped.wait(self.interval_s)
        except psycopg.Error as exc:  # the workload's numbers stand without these
            self.error = f"{type(exc).__name__}: {exc}"


def summary(counted: Counter[str], samples: int, error: str | None = None) -> dict[str, Any]:
    """The average backends per state over `samples`, the `TOP` largest first."""
    states = [
        {"state": state, "backends": round(count / samples, 3)}
        for state, count in counted.most_common(TOP)
        if samples
    ]
    result: dict[str, Any] = {"samples": samples, "states": states}
    if error:
        result["error"] = error
    return result


def describe(result: dict[str, Any]) -> str:
    """The summary as lines for the log."""
    lines = [f"database backends by state ({result['samples']} samples):"]
    lines += [f"  {row['backends']:7.3f}  {row['state']}" for row in result["states"]]
    if result.get("error"):
        lines.append(f"  sampling stopped: {result['error']}")
    return "\n".join(lines)
