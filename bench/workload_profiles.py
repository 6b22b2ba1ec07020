"""py-spy profiles of the server under a run's workloads, summarised by layer.

The workloads behind missed targets (`--profile missed`), or every one run (`always`): each
is run again with py-spy attached for its measured phase (bench/profiling.py). With
`--record` the profiles go to bench/profiles/<run>/, else to the run's work directory.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import profiling
from bench.log import log
from bench.server import REPO
from bench.targets import PROFILE_FOR
from bench.workloads.base import Prepared

if TYPE_CHECKING:
    from bench.engine_run import EngineRun

PROFILES_DIR = REPO / "bench" / "profiles"


def profile_workloads(engine_run: EngineRun, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The profiles of `engine_run`'s server, each with its summary."""
    cfg = engine_run.cfg
    if cfg.profile == "never" or engine_run.server is None:
        return []
    if profiling.py_spy() is None:
        log("py-spy is not installed: no profiles")
        return []
    root = (PROFILES_DIR if cfg.record else engine_run.work_dir / "profiles") / engine_run.run_id
    profiles = []
    for workload in _workloads_to_profile(cfg.profile, engine_run.prepared, targets):
        path = root / f"{workload}.collapsed.txt"
        log(f"profiling the server under {workload} for {cfg.profile_seconds} s")
        error = _profile_one(engine_run, workload, path)
        if not path.exists():
            log(f"py-spy wrote no profile: {error[-500:]}")
            continue
        path = profiling.compact(path)
        summary = profiling.summarise(path, seconds=cfg.profile_seconds, processes=cfg.workers)
        summary_path = path.with_name(f"{workload}.summary.txt")
        title = f"{engine_run.run_id}: server under '{workload}' ({engine_run.engine})"
        profiling.write_summary(summary, summary_path, title)
        profiles.append(
            {
                "workload": workload,
                "collapsed": _relative(path),
                "summary": _relative(summary_path),
                **summary,
            }
        )
    return profiles


def _workloads_to_profile(
    profile: str, prepared: dict[str, Prepared], targets: list[dict[str, Any]]
) -> list[str]:
    """Of the workloads run (`prepared`), those behind missed targets, or all of them."""
    wanted = list(prepared) if profile == "always" else []
    for target in targets:
        workload = PROFILE_FOR.get(target["id"], target["id"].split("_", 1)[0])
        missed = target["met"] is False
        chosen = profile == "always" or missed
        if chosen and workload in prepared and workload not in wanted:
            wanted.append(workload)
    return wanted


def _profile_one(engine_run: EngineRun, workload: str, path: Path) -> str:
    """Rerun `workload` with py-spy attached for the measured phase; py-spy's stderr."""
    assert engine_run.server is not None
    cfg = engine_run.cfg
    spies: list[subprocess.Popen[bytes]] = []
    pid = engine_run.server.pid
    prepared = engine_run.prepared[workload]
    if workload == "ingest":  # send the Bundles again, as often as the time allows
        prepared = Prepared({**prepared.params, "repeat": True}, prepared.notes)
    engine_run.load_runs.generate(
        workload,
        engine_run.modules.get(workload, workload),
        prepared,
        engine_run.server,
        clients=cfg.ingest_clients if workload == "ingest" else cfg.clients,
        duration_s=cfg.profile_seconds + 1,
        max_requests=10**9,
        warmup_s=1,
        cancel_at_deadline=True,
        on_measuring=lambda: spies.append(profiling.record(pid, cfg.profile_seconds, path)),
    )
    error = b""
    for spy in spies:
        _, error = spy.communicate(timeout=cfg.profile_seconds + 120)
    return error.decode(errors="replace")


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)
