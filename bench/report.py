"""The Markdown summary: one section per recorded run, newest first, in bench/RESULTS.md.

Only the part between the two markers is generated (from bench/results/*.json); the text
around it (the analysis) is written by hand and kept as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

BEGIN = "<!-- BEGIN GENERATED RUNS (python -m bench.run summary) -->"
END = "<!-- END GENERATED RUNS -->"

DEFAULT_HEAD = """# Benchmark results

Recorded runs of `python -m bench.run full --record` (see bench/README.md). Every number was
measured on the machine named in its section; ratios to the ceilings come from the same run.

"""

ORDER = ("ingest", "read", "search", "critical-information", "create", "crud")
# Detail lines "p50/p99 by …" of the workloads with several operations; a service's
# workload not named here gets "<name> operation".
BY_OP_LABELS = {"search": "search shape", "crud": "CRUD operation"}


def _ordered(workloads: dict[str, Any]) -> list[str]:
    """The workloads of a run: those of ORDER in its order, then the others (services')."""
    return [n for n in ORDER if n in workloads] + sorted(set(workloads) - set(ORDER))


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _others(res: dict[str, Any], server_cpus: str | None) -> str:
    """CPU time other processes took on the server's core (cores), when pinned to one."""
    busy = (res.get("cpu_busy") or {}).get(server_cpus or "")
    if busy is None or res.get("server_cpu_cores") is None:
        return "–"
    return _num(max(0.0, busy - res["server_cpu_cores"]), 2)


def other_cores_busy(res: dict[str, Any], server_cpus: str | None) -> str:
    """How busy the cores other than the server's were (cores): the database's backends,
    the load generator and the harness share them, so near 1.0 per core they, not the
    server, may be what binds."""
    busy = res.get("cpu_busy") or {}
    if not server_cpus or server_cpus not in busy:
        return "–"
    return _num(sum(v for cpu, v in busy.items() if cpu != server_cpus), 2)


def _workload_row(name: str, w: dict[str, Any], server_cpus: str | None = None) -> str:
    lat = w.get("latency_ms") or {}
    res = w.get("resources") or {}
    rate = f"{_num(w.get('throughput_rps'))} req/s"
    if name.startswith("ingest"):
        rate += f" = **{_num(w.get('units_per_s'), 0)} resources/s**"
    cells = [
        name,
        str(w.get("clients")),
        _num(w.get("requests")),
        _num(w.get("errors")),
        rate,
        _num(lat.get("p50")),
        _num(lat.get("p95")),
        _num(lat.get("p99")),
        _num(res.get("server_cpu_cores"), 2),
        _num(res.get("server_cpu_ms_per_request"), 2),
        _num(res.get("server_peak_rss_mb"), 0),
        _num(res.get("database_cpu_cores"), 2),
        _others(res, server_cpus),
        other_cores_busy(res, server_cpus),
        f"{_num(w.get('load_average_before', [None])[0], 2)}",
    ]
    return "| " + " | ".join(cells) + " |"


def run_section(result: dict[str, Any]) -> str:
    """The Markdown section of one run."""
    machine = result["machine"]
    pinning = result["pinning"]
    dirty = " (uncommitted changes in the working tree)" if result.get("dirty") else ""
    if not result["server"].get("audit", True):
        dirty += " · **without the audit trail**"
    lines = [
        f"### {result['date']} · {result['engine']} · commit `{result['commit']}`{dirty}",
        "",
        f"- run `{result['run_id']}` ({result['mode']}); database {result['database']}",
        f"- machine: {machine['nproc']} CPUs ({machine['cpu_model']}), "
        f"{machine['memory_gb']} GB RAM, Linux {machine['kernel']}, Python {machine['python']}",
        f"- pinning: {pinning.get('note')}"
        + (f"; {pinning['database']}" if pinning.get("database") else ""),
        f"- server: `samhandling serve`, {result['server']['workers']} worker(s), "
        f"auth {'on' if result['server'].get('auth') else 'off'}, audit trail "
        f"{'on' if result['server'].get('audit', True) else '**off** (benchmark switch)'}; "
        "clients: "
        f"{result['clients']['default']} (ingest {result['clients']['ingest']})",
        _setup_line(result),
        "",
        "| workload | clients | requests | errors | throughput | p50 ms | p95 ms | p99 ms "
        "| server CPU (cores) | server CPU ms/req | server peak RSS MB | DB CPU (cores) "
        "| others on server core | other cores busy | load avg |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    workloads = result["workloads"]
    ceilings = result.get("ceilings", {})
    server_cpus = pinning.get("server_cpus")
    for name in _ordered(workloads):
        lines.append(_workload_row(name, workloads[name], server_cpus))
        if name == "read" and "read" in ceilings:
            lines.append(_workload_row("read: bare ceiling (a)", ceilings["read"], server_cpus))
    lines.append("")
    for key, label in (("write_bundle", "one Bundle per tx"), ("write_single", "1 resource/tx")):
        c = ceilings.get(key)
        if c:
            process = c.get("process") or {}
            lines.append(
                f"- driver ceiling (b), {label}: **{_num(c['resources_per_s'], 0)} resources/s** "
                f"({_num(c['rows_per_s'], 0)} rows/s, {c['concurrency']} connection(s), "
                f"{_num(c['resources'])} resources, {c['errors']} errors; inserting process "
                f"{_num(process.get('process_cpu_ms_per_resource'), 3)} ms CPU per resource, "
                f"database {_num(process.get('database_cpu_cores'), 2)} cores)"
            )
    ingest = workloads.get("ingest", {}).get("resources", {})
    if ingest.get("server_cpu_ms_per_resource") is not None:
        lines.append(
            f"- ingest: server CPU {_num(ingest['server_cpu_ms_per_resource'], 2)} ms per resource"
        )
    cpu_ratio = result.get("ratios", {}).get("read_cpu_vs_bare")
    if cpu_ratio is not None:
        lines.append(
            f"- reads, CPU cost: the bare endpoint needs {_pct(cpu_ratio)} of the server CPU our "
            "read needs (a noise-robust view of the read ratio)"
        )
    activity = [
        f"{name} {a['per_request'].get('xact_commit', 0)} tx, "
        f"{a['per_request'].get('tup_inserted', 0)} rows inserted, "
        f"{a['per_request'].get('tup_updated', 0)} updated, "
        f"{a['per_request'].get('tup_deleted', 0)} deleted, "
        f"{a['per_request'].get('tup_returned', 0)} read"
        for name in _ordered(workloads)
        if (a := workloads.get(name, {}).get("database_activity"))
    ]
    if activity:
        lines.append(f"- PostgreSQL per request (pg_stat_database): {'; '.join(activity)}")
    for name in _ordered(workloads):
        by_op = workloads[name].get("by_op", {})
        if by_op and name not in ("ingest", "read", "create"):
            label = BY_OP_LABELS.get(name, f"{name} request")
            lines.append(f"- p50/p99 ms by {label}: {_by_op(by_op)}")
    refused = [
        f"{name}: {count} × {kind}"
        for name in _ordered(workloads)
        for kind, count in (workloads[name].get("error_kinds") or {}).items()
    ]
    if refused:
        lines.append(f"- errors by kind: {'; '.join(refused)}")
    lines += ["", "| target | goal | measured | met |", "|---|---|---:|:---:|"]
    for t in result.get("targets", []):
        value = t["value"]
        shown = _pct(value) if t["id"].endswith("ceiling") else _num(value)
        met = {True: "yes", False: "**no**", None: "–"}[t["met"]]
        lines.append(f"| {t['name']} | {t['target']} | {shown} | {met} |")
    for p in result.get("profiles", []):
        top = p.get("our_code_pct") or p["layers_pct"]
        layers = ", ".join(f"{name.removeprefix('samhandling/')} {pct}%" for name, pct in top[:6])
        kept = p["collapsed"].startswith("bench/")  # a run without --record profiles in /tmp
        files = (
            f"[stacks]({_link(p['collapsed'])}), [summary]({_link(p['summary'])})"
            if kept
            else "profile files not kept"
        )
        lines += [
            "",
            f"Profile of the server under **{p['workload']}** (GIL held "
            f"{p.get('gil_busy_pct')}% of the time; {p['samples']} samples, {files}), "
            f"by our module: {layers}.",
        ]
    return "\n".join(lines) + "\n"


def _setup_line(result: dict[str, Any]) -> str:
    database = (result.get("config") or {}).get("database")
    if database:
        name = database.rsplit("/", 1)[-1]
        return f"- database: an existing, loaded database (`--database`, {name})"
    setup = result["setup"]
    return (
        f"- setup (untimed): {setup.get('entries')} entries of the shared Bundles in "
        f"{setup.get('seconds')} s"
    )


def _by_op(by_op: dict[str, Any]) -> str:
    parts = []
    for op, v in by_op.items():
        lat = v.get("latency_ms") or {}
        parts.append(f"{op} {_num(lat.get('p50'))}/{_num(lat.get('p99'))}")
    return ", ".join(parts)


def _link(path: str) -> str:
    return path.removeprefix("bench/")


def update_results_md(results_dir: Path, md_path: Path) -> None:
    """Regenerate the runs section of RESULTS.md from every result JSON (newest first)."""
    results = [orjson.loads(p.read_bytes()) for p in sorted(results_dir.glob("*.json"))]
    results.sort(key=lambda r: (r["date"], r["engine"]), reverse=True)
    body = "\n".join(run_section(r) for r in results)
    text = md_path.read_text() if md_path.exists() else DEFAULT_HEAD + f"{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    md_path.write_text(f"{head}{BEGIN}\n\n## Recorded runs\n\n{body}\n{END}{tail}")
