"""The settings of a benchmark run (`Config`), and what `quick` changes of them (`QUICK`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench import synthea
from bench.db import DEFAULT_POSTGRES


@dataclass
class Config:
    """A run's settings: `python -m bench.run` sets them from its options."""

    mode: str
    engines: list[str]
    workers: int = 1
    clients: int = 8
    ingest_clients: int = 2
    duration_s: float = 15.0
    warmup_s: float = 3.0
    max_requests: int = 100_000
    ingest_patients: int = 20
    ingest_pick: str = "name"  # "name": first N by file name; "smallest": the N smallest
    ingest_duration_s: float = 120.0
    preload_dir: str | None = None  # patient Bundles loaded (untimed) before the workloads
    preload_patients: int | None = None
    read_keys_per_type: int = 1000
    search_patients: int = 50
    pin: bool = True
    server_cpus: str = "0"
    load_cpus: str = "1"
    profile: str = "missed"  # missed | always | never
    profile_seconds: int = 12
    phases: str | None = None  # a phase set of bench/phases.py: thread CPU by phase
    db_activity: bool = False  # sample pg_stat_activity during each workload (db_activity.py)
    record: bool = False
    output: str | None = None
    synthea_dir: str = str(synthea.DEFAULT_DIR)
    postgres_url: str = DEFAULT_POSTGRES
    seed: int = 8
    keep_work_dir: bool = False
    audit: bool = True  # False: the server's benchmark-only switch without the audit trail
    #: True: the server runs its background workers (production's default; the notifications
    #: worker's rounds), off by default so that `wait_idle` sees the server idle
    background_workers: bool = False
    database: str | None = None  # an existing, loaded database: no setup, ingest or ceilings
    analyze: bool = True  # False: no ANALYZE after loading (searches as in the first minute)
    workloads: list[str] = field(
        default_factory=lambda: ["ingest", "read", "search", "create", "crud"]
    )


QUICK = {
    "duration_s": 3.0,
    "warmup_s": 0.3,
    "max_requests": 40,
    "clients": 4,
    "ingest_patients": 2,
    "ingest_pick": "smallest",
    "ingest_duration_s": 60.0,
    "read_keys_per_type": 50,
    "search_patients": 5,
    "profile": "never",
}
