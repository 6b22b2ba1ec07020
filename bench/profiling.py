"""Sampling profiles of the server with py-spy, and a summary of where the time goes.

`record(pid, seconds, path)` attaches py-spy to a running server (and its worker processes)
and writes collapsed stacks (`frame;frame;… count`, root first; loadable in speedscope or
flamegraph.pl; `compact` shortens and gzips them). It samples only the thread that holds
the GIL (`--gil`): on a server pinned to one core, that is what the core executes in Python.
Sampling every thread would also count the threads queueing for the GIL (and py-spy's idle
detection does not work on this machine). Time without any GIL holder is the server
waiting: for PostgreSQL, for SQLite's engine (sqlite3 runs queries without the GIL) or for
the network; the share of wall time the GIL was held is reported as `gil_busy_pct`.

`summarise(path)` sets aside the few samples whose innermost frame is a wait, attributes
every other sample to a layer (the innermost frame that belongs to a known package: our
sub-packages, SQLAlchemy, the driver, the ASGI stack …) and to the innermost module of our
own code on the stack (with the library time it causes), and lists the hottest functions by
own and by total time.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

PROCESS_FRAME = re.compile(r'^process (\d+):"[^"]*";', re.MULTILINE)
FILE_PREFIX = re.compile(r"\((?:[^();]*?/)?(?:site-packages|src|lib/python3\.\d+)/")
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# Innermost matching frame wins; checked in order.
LAYERS = [
    ("validation", "samhandling/fhir/validation/"),
    ("index extraction", "samhandling/fhir/indexing/"),
    ("index extraction", "fhirpathpy/"),
    ("fhir (other)", "samhandling/fhir/"),
    ("identifiers", "samhandling/identifiers/"),
    ("audit", "samhandling/audit/"),
    ("services", "samhandling/services/"),
    ("search", "samhandling/search/"),
    ("store", "samhandling/store/"),
    ("interactions", "samhandling/interactions/"),
    ("api", "samhandling/api/"),
    ("observability", "samhandling/observability/"),
    ("auth", "samhandling/auth/"),
    ("samhandling (other)", "samhandling/"),
    ("driver (psycopg)", "psycopg"),
    ("driver (sqlite3)", "sqlite3/"),
    ("SQLAlchemy", "sqlalchemy/"),
    ("JSON (orjson)", "orjson"),
    ("metrics (prometheus)", "prometheus_client/"),
    ("ASGI (starlette)", "starlette/"),
    ("ASGI (uvicorn)", "uvicorn/"),
    ("ASGI (anyio)", "anyio/"),
    ("logging", "logging/"),
    ("ceiling app", "bench/ceilings/"),
]


# Innermost frames that mean "this thread is waiting", not computing.
IDLE_LEAVES = (
    ("wait", "threading.py"),
    ("_wait_for_tstate_lock", "threading.py"),
    ("get", "queue.py"),
    ("run", "asyncio/runners.py"),
    ("run_forever", "asyncio/base_events.py"),
    ("select", "selectors.py"),
    ("wait", "psycopg/waiting.py"),
    ("wait_c", "psycopg/waiting.py"),
    ("wait_conn", "psycopg/waiting.py"),
    ("sleep", "time"),
)


def _idle(func: str, file: str) -> bool:
    return any(func.endswith(f) and file.endswith(name) for f, name in IDLE_LEAVES)


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


RATE = 100


def record(pid: int, seconds: int, path: Path, *, rate: int = RATE) -> subprocess.Popen[bytes]:
    """Start py-spy on `pid` and its subprocesses for `seconds`; returns the running process."""
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        *(exe, "record", "--pid", str(pid), "--duration", str(seconds)),
        *("--rate", str(rate), "--format", "raw", "--output", str(path)),
        *("--subprocesses", "--nonblocking", "--gil"),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def compact(path: Path) -> Path:
    """Shorten what py-spy repeats in every stack (the process frame's command line, the
    directories before `site-packages/`, `src/` and the standard library) and gzip the
    file (`zcat x.collapsed.txt.gz > x.txt` for speedscope); returns the new path."""
    text = PROCESS_FRAME.sub(r"process \1;", path.read_text())
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(FILE_PREFIX.sub("(", text).encode(), mtime=0))
    path.unlink()
    return target


def read_collapsed(path: Path) -> str:
    """The text of a collapsed-stack file, gzipped or not."""
    raw = path.read_bytes()
    return (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode()


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for raw in stack.split(";"):
        match = FRAME.match(raw.strip())
        if match:
            frames.append((match["func"], match["file"]))
        else:
            frames.append((raw.strip(), ""))
    return frames


# Innermost frames that hand over to C: the driver (psycopg's libpq, sqlite3) running a
# statement, which includes SQLite's whole engine, PostgreSQL round trips and lock waits.
DATABASE_CALLS = (
    "do_execute",
    "do_executemany",
    "do_execute_no_params",
    "do_commit",
    "do_rollback",
    "fetchone",
    "fetchall",
    "fetchmany",
    "_connect",
    "connect",
)
DATABASE_LAYER = "database calls (driver C, SQLite engine, waits)"


def _layer(frames: list[tuple[str, str]]) -> str:
    func, file = frames[-1]
    in_driver = any(p in file for p in ("sqlalchemy/engine/", "psycopg/", "sqlite3/"))
    if in_driver and func.rsplit(".", 1)[-1] in DATABASE_CALLS:
        return DATABASE_LAYER
    for _, file in reversed(frames):
        for layer, needle in LAYERS:
            if needle in file:
                return layer
    return "other (interpreter, stdlib)"


def _owner(frames: list[tuple[str, str]]) -> str:
    """The innermost frame of our own code (module path), else the leaf's layer."""
    for _, file in reversed(frames):
        if "samhandling/" in file and "/cli/" not in file:
            return "samhandling/" + file.rsplit("samhandling/", 1)[1]
    return _layer(frames)


def _short(func: str, file: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{func} ({file})"


def summarise(
    path: Path, top: int = 15, *, seconds: float | None = None, processes: int = 1
) -> dict[str, Any]:
    """Layers and hottest functions (own and total time) of a collapsed-stack profile.

    With `seconds` (the recording time), also the share of wall time the GIL was held.
    """
    layers: Counter[str] = Counter()
    owners: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = idle = 0
    for line in read_collapsed(path).splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [(f, file) for f, file in _frames(stack) if file]
        if not frames:
            continue
        if _idle(*frames[-1]):
            idle += count
            continue
        samples += count
        layers[_layer(frames)] += count
        owners[_owner(frames)] += count
        own[_short(*frames[-1])] += count
        for name in {_short(*frame) for frame in frames}:
            total[name] += count

    def share(counter: Counter[str], n: int) -> list[list[Any]]:
        return [[name, round(100 * c / samples, 1)] for name, c in counter.most_common(n)]

    possible = seconds * RATE * processes if seconds else 0
    busy = round(100 * (samples + idle) / possible, 1) if possible else None
    if not samples:
        return {
            "samples": 0,
            "idle_samples": idle,
            "gil_busy_pct": busy,
            "layers_pct": [],
            "our_code_pct": [],
            "top_own_pct": [],
            "top_total_pct": [],
        }
    return {
        "samples": samples,
        "idle_samples": idle,
        "gil_busy_pct": busy,
        "layers_pct": share(layers, len(layers)),
        "our_code_pct": share(owners, top),
        "top_own_pct": share(own, top),
        "top_total_pct": share(
            Counter({k: v for k, v in total.items() if "samhandling/" in k and "/cli/" not in k}),
            top,
        ),
    }


def write_summary(summary: dict[str, Any], path: Path, title: str) -> None:
    """A plain-text rendering of `summarise` next to the profile."""
    lines = [
        title,
        f"samples: {summary['samples']} busy, {summary['idle_samples']} idle (set aside);"
        f" GIL held {summary.get('gil_busy_pct')}% of the wall time",
        "",
    ]
    lines.append(f"  {'layer (innermost known frame)':<50} share")
    lines += [f"  {name:<50} {pct:5.1f}%" for name, pct in summary["layers_pct"]]
    lines += ["", "our code: innermost samhandling module, with the library time it causes"]
    lines += [f"  {pct:5.1f}%  {name}" for name, pct in summary.get("our_code_pct", [])]
    lines += ["", "hottest functions, own time"]
    lines += [f"  {pct:5.1f}%  {name}" for name, pct in summary["top_own_pct"]]
    lines += ["", "samhandling functions, total time (including callees)"]
    lines += [f"  {pct:5.1f}%  {name}" for name, pct in summary["top_total_pct"]]
    path.write_text("\n".join(lines) + "\n")
