"""CPU time and memory of processes from /proc, sampled while a workload runs; machine facts.

Linux only (the benchmark machine). No psutil: /proc/<pid>/stat gives utime+stime in clock
ticks, /proc/<pid>/status gives VmRSS. A sampler thread records, every `interval` seconds,
the CPU seconds and resident memory of the server's process tree and of the PostgreSQL
backends serving the benchmark database; the harness then cuts out the generator's
measured window. The sampler also pins those backends to the database core as they appear.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds, RSS bytes) of a live process, else None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid = field 4, utime = 14, stime = 15, rss = 24.
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS, int(fields[21]) * PAGE


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        info = _stat(pid)
        if info is not None:
            children.setdefault(info[0], []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def postgres_backends(database: str) -> list[int]:
    """Backends connected to `database`.

    Their title is `postgres: [cluster name:] user database client-address state`.
    """
    found = []
    for pid in _all_pids():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        words = title.split()
        if words[:1] == ["postgres:"] and database in words[2:4]:
            found.append(pid)
    return found


def level_with_harness(pid: int) -> None:
    """Give a pinned backend the harness's own niceness: it shares its core with the load
    generator, and a postmaster restarted from a niced shell (a CI run under `nice` restarts
    the shared server in its failover test) hands its niceness to every backend, which then
    loses that core to the generator. Said once on stderr when it had to be changed."""
    own, theirs = os.getpriority(os.PRIO_PROCESS, 0), os.getpriority(os.PRIO_PROCESS, pid)
    if theirs != own:
        os.setpriority(os.PRIO_PROCESS, pid, own)
        if not _LEVELLED:
            print(f"[bench] PostgreSQL backend at nice {theirs}: set to {own}", file=sys.stderr)
        _LEVELLED.add(pid)


_LEVELLED: set[int] = set()


def cpu_busy_seconds() -> dict[int, float]:
    """Busy seconds (user, nice, system, irq, softirq) of every CPU since boot (/proc/stat)."""
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            ticks = [int(v) for v in values[:7]]
            busy[int(name[3:])] = (sum(ticks) - ticks[3] - ticks[4]) / TICKS
    return busy


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by `root` and its descendants."""
    return sum(info[1] for pid in process_tree(root) if (info := _stat(pid)) is not None)


def wait_idle(root: int, *, busy_below: float = 0.05, timeout: float = 300) -> float:
    """Wait until the process tree uses less than `busy_below` of a core; seconds waited.

    A request the load generator abandoned (profiling runs stop at their deadline) keeps
    the server busy; the next measurement must not see that work.
    """
    start = time.monotonic()
    interval = 0.2
    while time.monotonic() - start < timeout:
        before = tree_cpu(root)
        time.sleep(interval)
        if tree_cpu(root) - before < busy_below * interval:
            break
        interval = 0.5
    return time.monotonic() - start


@dataclass
class Sample:
    at: float
    server_cpu: float
    server_rss: int
    db_cpu: float
    cpus: dict[int, float]


@dataclass
class Sampler:
    """Samples the server tree (and PostgreSQL backends of `database`) in a thread."""

    server_pid: int
    database: str | None = None
    database_cpus: set[int] | None = None
    interval: float = 0.1
    samples: list[Sample] = field(default_factory=list)
    pinned: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _db_cpu: dict[int, float] = field(default_factory=dict)
    _db_base: dict[int, float] = field(default_factory=dict)

    def start(self) -> Sampler:
        self._take()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._take()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._take()

    def _take(self) -> None:
        if _stat(self.server_pid) is None:
            return  # the process has exited: its counters are gone, keep the last sample
        cpu, rss = 0.0, 0
        for pid in process_tree(self.server_pid):
            info = _stat(pid)
            if info is not None:
                cpu += info[1]
                rss += info[2]
        db_cpu = 0.0
        if self.database:
            for pid in postgres_backends(self.database):
                info = _stat(pid)
                if info is None:
                    continue
                if pid not in self._db_base:
                    # A backend first seen now: its earlier CPU (connection set-up) counts.
                    self._db_base[pid] = 0.0 if self.samples else info[1]
                self._db_cpu[pid] = info[1] - self._db_base[pid]
                if self.database_cpus and pid not in self.pinned:
                    with contextlib.suppress(OSError):
                        os.sched_setaffinity(pid, self.database_cpus)
                        level_with_harness(pid)
                    self.pinned.add(pid)
            db_cpu = sum(self._db_cpu.values())
        self.samples.append(Sample(time.monotonic(), cpu, rss, db_cpu, cpu_busy_seconds()))

    def window(self, start: float, end: float) -> dict[str, Any]:
        """CPU seconds, CPU cores (seconds per wall second) and peak RSS within [start, end]."""
        if not self.samples:
            return {"server_cpu_seconds": 0.0, "server_cpu_cores": 0.0, "server_peak_rss_mb": 0.0}
        before = [s for s in self.samples if s.at <= start] or self.samples[:1]
        inside = [s for s in self.samples if start <= s.at <= end]
        after = [s for s in self.samples if s.at >= end] or self.samples[-1:]
        first, last = before[-1], after[0]
        span = max(last.at - first.at, 1e-9)
        server_cpu = last.server_cpu - first.server_cpu
        db_cpu = last.db_cpu - first.db_cpu
        peak = max(s.server_rss for s in [first, *inside, last])
        result: dict[str, Any] = {
            "server_cpu_seconds": round(server_cpu, 3),
            "server_cpu_cores": round(server_cpu / span, 3),
            "server_peak_rss_mb": round(peak / 2**20, 1),
        }
        if self.database:
            result["database_cpu_seconds"] = round(db_cpu, 3)
            result["database_cpu_cores"] = round(db_cpu / span, 3)
        # How busy each CPU was, whoever used it: on a shared machine, the server's core
        # minus the server's own use is what other processes took from it.
        result["cpu_busy"] = {
            str(n): round((last.cpus[n] - first.cpus.get(n, 0.0)) / span, 3) for n in last.cpus
        }
        return result


def machine_info() -> dict[str, Any]:
    """nproc, CPU model, memory, kernel, Python: what makes a number comparable."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "hostname": platform.node(),
    }


def git_commit(repo: Path) -> dict[str, Any]:
    """Short commit of HEAD and whether the working tree has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain")),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
