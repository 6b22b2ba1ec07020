"""The proof of issue #25 on the whole Synthea set (docs/BULK_EXPORT.md "Proof"):

1. `samhandling import` of the Synthea bundles into an empty PostgreSQL database, and of
   the demo register (163 organisations and personnel, PUTs by id): the token's
   organisation must be registered for the server to accept the system client;
2. `$export` of it through a real server (`samhandling serve`, a system token, kick-off,
   polling, the files downloaded), or with `--via cli` by `samhandling export`;
3. every NDJSON line validated as R4 (`validate_resource`);
4. `samhandling import` of the NDJSON into a second empty PostgreSQL database;
5. the count per type compared at every step: source store = export = target store.

The databases are `<--databases>_src` and `<--databases>_dst` (default `export_proof_…`)
on `--server-url` (created, and dropped at the end unless `--keep`). Every step's time
and the load average are printed as a Markdown table for bench/RESULTS.md; exit status 1
when a count differs or a line is invalid.

Usage: nice -n 15 python tools/export_proof.py [--via server|cli] [--work DIR]
       [--server-url postgresql://postgres@127.0.0.1:5432] [--reuse-source] [--keep]
       [--bulk-jobs N]  (step 4 as `samhandling import --bulk --jobs N`)
"""

from __future__ import annotations

import argparse
import bz2
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import orjson
import psycopg

from samhandling.definitions.published import SHIPPED_TYPES
from samhandling.demo.population import register_bundle
from samhandling.fhir.validation import validate_resource

SYNTHEA = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data")) / "synthea"
CLI = [sys.executable, "-m", "samhandling.cli"]
PORT = 18725


class Steps:
    """Each step's wall time and the load average after it."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    def timed(self, name: str, started: float) -> None:
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        self.rows.append((name, time.monotonic() - started, load))
        print(f"{name}: {time.monotonic() - started:.0f} s (load {load})", flush=True)


def recreate(server_url: str, name: str) -> str:
    """Drop and create the database `name`; its URL."""
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


def drop(server_url: str, name: str) -> None:
    """Drop the database `name`."""
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store_counts(url: str) -> Counter[str]:
    """The current, not deleted resources per type, counted in the database itself
    (independent of the export's own queries)."""
    query = "SELECT resource_type, count(*) FROM resource WHERE NOT deleted GROUP BY 1"
    with psycopg.connect(url) as connection:
        return Counter({t: int(n) for t, n in connection.execute(query).fetchall()})


def import_files(url: str, data_dir: Path, paths: list[Path], *flags: str) -> None:
    """`samhandling import` (a subprocess, as an operator runs it) with `flags`."""
    command = [*CLI, "import", "--database", url, "--data-dir", str(data_dir), *flags]
    subprocess.run([*command, *map(str, paths)], check=True, stdout=subprocess.DEVNULL)


def export_by_cli(url: str, folder: Path) -> None:
    """`samhandling export` into `folder`."""
    command = [*CLI, "export", str(folder), "--database", url]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def export_by_server(url: str, data_dir: Path, folder: Path) -> None:
    """Start `samhandling serve` on `url`, run a system `$export`, download its files."""
    env = {**os.environ, "SAMHANDLING_EXPORT_ROWS_PER_SECOND": "0"}
    serve = [*CLI, "serve", "--database", url, "--data-dir", str(data_dir), "--port", str(PORT)]
    server = subprocess.Popen([*serve, "--dev-issuer"], env=env, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{PORT}/fhir"
        _wait_for(base)
        minted = [*CLI, "token", "--persona", "system", "--data-dir", str(data_dir)]
        token = (
            subprocess.run(
                [*minted, "--port", str(PORT)], check=True, capture_output=True, text=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        _run_export(base, {"Authorization": f"Bearer {token}"}, folder)
    finally:
        server.terminate()
        server.wait(timeout=60)


def _wait_for(base: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"{base}/metadata", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("the server did not start")


def _run_export(base: str, headers: dict[str, str], folder: Path) -> None:
    with httpx.Client(headers=headers, timeout=600) as client:
        kick = client.get(f"{base}/$export", headers={"Prefer": "respond-async"})
        kick.raise_for_status()
        status_url = kick.headers["Content-Location"]
        while (status := client.get(status_url)).status_code == 202:
            print(f"  {status.headers.get('X-Progress')}", flush=True)
            time.sleep(float(status.headers.get("Retry-After", "2")))
        status.raise_for_status()
        folder.mkdir(parents=True, exist_ok=True)
        for entry in status.json()["output"]:
            with (
                client.stream("GET", entry["url"]) as answer,
                (folder / entry["url"].rsplit("/", 1)[1]).open("wb") as out,
            ):
                answer.raise_for_status()
                for chunk in answer.iter_bytes():
                    out.write(chunk)


def bundle_counts(paths: list[Path]) -> Counter[str]:
    """The entries per resource type in the input Bundles (`.json` or `.json.bz2`)."""
    counts: Counter[str] = Counter()
    for path in paths:
        raw = bz2.decompress(path.read_bytes()) if path.suffix == ".bz2" else path.read_bytes()
        for entry in orjson.loads(raw).get("entry", []):
            counts[entry["resource"]["resourceType"]] += 1
    return counts


def check_files(folder: Path) -> tuple[Counter[str], int]:
    """The lines per resource type in the NDJSON files, and how many are not valid R4."""
    counts: Counter[str] = Counter()
    invalid = 0
    for path in sorted(folder.glob("*.ndjson")):
        with path.open("rb") as lines:
            for line in lines:
                resource = orjson.loads(line)
                counts[resource["resourceType"]] += 1
                issues = validate_resource(resource)
                if any(i.severity in ("error", "fatal") for i in issues):
                    invalid += 1
                    print(f"  invalid: {path.name} {resource.get('id')}", flush=True)
    return counts, invalid


def compare(steps: dict[str, Counter[str]], skip: int = 0) -> bool:
    """Print the counts per type side by side; whether every step (but the first `skip`)
    holds the same."""
    names = list(steps)
    print("| type | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for resource_type in sorted(set().union(*steps.values())):
        cells = " | ".join(f"{steps[n][resource_type]:,}" for n in names)
        print(f"| {resource_type} | {cells} |")
    print("| **total** | " + " | ".join(f"{sum(steps[n].values()):,}" for n in names) + " |")
    first = steps[names[skip]]
    return all(steps[n] == first for n in names[skip:])


def main() -> int:
    """Run the proof; 0 when every count agrees and every line is valid R4."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--via", choices=("server", "cli"), default="server")
    parser.add_argument("--work", type=Path, default=Path("/tmp/export_proof"))
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--synthea", type=Path, default=SYNTHEA)
    parser.add_argument("--reuse-source", action="store_true", help="skip step 1")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--databases", default="export_proof", help="database name prefix")
    parser.add_argument(
        "--bulk-jobs",
        type=int,
        default=0,
        help="re-import the NDJSON with `samhandling import --bulk --jobs N` (0: plainly)",
    )
    args = parser.parse_args()
    try:
        return _prove(args, Steps())
    finally:
        if not args.keep:
            drop(args.server_url, f"{args.databases}_src")
            drop(args.server_url, f"{args.databases}_dst")


def _prove(args: argparse.Namespace, steps: Steps) -> int:
    source = f"{args.server_url}/{args.databases}_src"
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.reuse_source:
        started = time.monotonic()
        created = recreate(args.server_url, f"{args.databases}_src")
        import_files(created, args.work / "src-data", [args.synthea])
        steps.timed("import Synthea", started)
    register = args.work / "register-bundle.json"
    register.write_bytes(orjson.dumps(register_bundle()))
    import_files(source, args.work / "src-data", [register])
    started, folder = time.monotonic(), args.work / f"export-{args.via}"
    if args.via == "server":
        export_by_server(source, args.work / "server-data", folder)
    else:
        export_by_cli(source, folder)
    steps.timed(f"export ({args.via})", started)
    started = time.monotonic()
    exported, invalid = check_files(folder)
    steps.timed(f"validate {sum(exported.values()):,} lines", started)
    started, target = time.monotonic(), recreate(args.server_url, f"{args.databases}_dst")
    bulk = ["--bulk", "--jobs", str(args.bulk_jobs)] if args.bulk_jobs else []
    import_files(target, args.work / "dst-data", [folder], *bulk)
    steps.timed(f"import NDJSON {' '.join(bulk)}".strip(), started)
    inputs = [*sorted(args.synthea.glob("*.json*")), register]
    given, stored = bundle_counts(inputs), store_counts(source)
    imported = all(stored[t] == given[t] for t in given) and all(
        t in given or t in SHIPPED_TYPES for t in stored
    )  # the shipped definitions are published by the server at its start
    counts = {"input bundles": given, "source store": stored, "export": exported}
    same = compare({**counts, "target store": store_counts(target)}, skip=1) and imported
    for name, seconds, load in steps.rows:
        print(f"| {name} | {seconds:.0f} s | {load} |")
    print(f"invalid lines: {invalid}; counts equal: {same}")
    return 0 if same and invalid == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
