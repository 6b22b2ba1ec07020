"""The issues' goals for a run, and how a run's workloads and ceilings are judged against them."""

from __future__ import annotations

from typing import Any

from bench import service_workloads
from bench.workloads import search

TARGETS = {
    "crud_throughput": ("CRUD mix throughput", ">= 600 req/s", 600.0),
    "crud_p99": ("CRUD mix p99 latency", "< 50 ms", 50.0),
    "ingest_rate": ("transaction ingest", ">= 1,000 resources/s", 1000.0),
    "read_vs_ceiling": ("reads by id vs bare endpoint (a)", ">= 50%", 0.5),
    "ingest_vs_ceiling": ("ingest writes vs driver inserts (b), per Bundle", ">= 40%", 0.4),
    "create_vs_ceiling": ("single creates vs driver inserts (b), 1 per tx", ">= 40%", 0.4),
}
# The workload whose profile explains a missed target.
PROFILE_FOR = {
    "crud_throughput": "crud",
    "crud_p99": "crud",
    "ingest_rate": "ingest",
    "read_vs_ceiling": "read",
    "ingest_vs_ceiling": "ingest",
    "create_vs_ceiling": "create",
}


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def ratios(workloads: dict[str, Any], ceilings: dict[str, Any]) -> dict[str, float | None]:
    def ratio(a: Any, b: Any) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    return {
        "read_vs_bare": ratio(
            _get(workloads, "read", "throughput_rps"), _get(ceilings, "read", "throughput_rps")
        ),
        # The same comparison in server CPU per request (robust against a noisy machine):
        # the bare app's CPU cost of a read divided by ours.
        "read_cpu_vs_bare": ratio(
            _get(ceilings, "read", "resources", "server_cpu_ms_per_request"),
            _get(workloads, "read", "resources", "server_cpu_ms_per_request"),
        ),
        "ingest_vs_driver": ratio(
            _get(workloads, "ingest", "units_per_s"),
            _get(ceilings, "write_bundle", "resources_per_s"),
        ),
        "create_vs_driver": ratio(
            _get(workloads, "create", "throughput_rps"),
            _get(ceilings, "write_single", "resources_per_s"),
        ),
    }


def evaluate_targets(workloads: dict[str, Any], ceilings: dict[str, Any]) -> list[dict[str, Any]]:
    r = ratios(workloads, ceilings)
    values = {
        "crud_throughput": _get(workloads, "crud", "throughput_rps"),
        "crud_p99": _get(workloads, "crud", "latency_ms", "p99"),
        "ingest_rate": _get(workloads, "ingest", "units_per_s"),
        "read_vs_ceiling": r["read_vs_bare"],
        "ingest_vs_ceiling": r["ingest_vs_driver"],
        "create_vs_ceiling": r["create_vs_driver"],
    }
    targets = []
    for key, (name, text, limit) in TARGETS.items():
        value = values[key]
        met = None if value is None else (value < limit if key == "crud_p99" else value >= limit)
        targets.append({"id": key, "name": name, "target": text, "value": value, "met": met})
    return targets + search_targets(workloads) + service_workloads.targets(workloads)


def search_targets(workloads: dict[str, Any]) -> list[dict[str, Any]]:
    """The search issue's goal for its typical searches: p50 < 50 ms and p99 < 200 ms."""
    by_op = _get(workloads, "search", "by_op") or {}
    targets = []
    for shape in search.TYPICAL_SHAPES:
        latency = (by_op.get(shape) or {}).get("latency_ms") or {}
        for stat, limit in (("p50", 50.0), ("p99", 200.0)):
            value = latency.get(stat)
            targets.append(
                {
                    "id": f"search_{stat}:{shape}",
                    "name": f"search {shape} {stat}",
                    "target": f"< {limit:.0f} ms",
                    "value": value,
                    "met": None if value is None else value < limit,
                }
            )
    return targets
