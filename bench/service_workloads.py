"""Service workloads, found through the service seam (`Service.benchmark`).

A service names its workload (`benchmark="medication-list"`); the workload is the module
of that name in bench/workloads (dashes as underscores: `medication_list.py`) with

* `prepare(engine) -> Prepared`: sample what it needs from the database (it may name the
  persona whose token its requests carry: `Prepared.persona`);
* `make_source(params, rng)`: the generator side (see `workloads/base.py`);
* optionally `TARGETS = {op: p50 limit in ms}`: the service's latency targets, checked
  per operation (`targets`).

Service workloads run on a database holding the demo population (`--database`).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def names() -> dict[str, str]:
    """Each platform service's workload name -> its module in bench/workloads."""
    from samhandling.services import default_platform

    services = default_platform().services
    return {s.benchmark: s.benchmark.replace("-", "_") for s in services if s.benchmark}


def module(name: str) -> ModuleType:
    """The workload module of a service workload name."""
    return importlib.import_module(f"bench.workloads.{names()[name]}")


def targets(workloads: dict[str, Any]) -> list[dict[str, Any]]:
    """The service workloads' targets: `TARGETS` of each module, p50 per operation."""
    found = []
    for name in sorted(set(workloads) & set(names())):
        by_op = workloads[name].get("by_op") or {}
        for op, limit in getattr(module(name), "TARGETS", {}).items():
            value = ((by_op.get(op) or {}).get("latency_ms") or {}).get("p50")
            found.append(
                {
                    "id": f"{name}_p50:{op}",
                    "name": f"{name} {op} p50",
                    "target": f"< {limit:g} ms",
                    "value": value,
                    "met": None if value is None else value < limit,
                }
            )
    return found
