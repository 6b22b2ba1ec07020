"""Multiply the 120 Synthea patients into N patients with fresh ids and identifiers.

    python -m bench.replicate_synthea --patients 1000 --out /tmp/synthea-1000 [--jobs 2]
    samhandling import /tmp/synthea-1000            # loads the 0-* Bundles first
    python -m bench.replicate_synthea --patients 1000 --post http://127.0.0.1:8080/fhir \\
        --header "Authorization: Bearer $(samhandling token --persona system …)"

Patient n (0-based) is copy n // 120 of source patient n % 120 (the patient files in name
order). In its transaction Bundle every UUID that names one of the Bundle's own resources
(the `urn:uuid:` fullUrls, the references to them, the resource ids and the Synthea
identifiers that repeat them) is replaced by a UUID derived from (seed, n, old UUID), so
references stay intact and a copy is the same every time. The patient's social security,
driver's licence and passport numbers become unique per n (area 998, which Synthea never
uses). Conditional references to the shared organisations, locations and practitioners are
left alone: they resolve to the resources of the `0-*` Bundles, which are copied unchanged
to the output directory. Names and clinical content are those of the source patient.

`--exclude-types Claim,ExplanationOfBenefit` leaves resource types out (about 16% of the
resources); the replicator refuses when a kept resource refers to a left-out one.
`--max-source-entries 400` copies only the 46 source patients with at most 400 entries
(mean 277, 232 without Claim and ExplanationOfBenefit): 10,000 such patients are the
"about 2 million resources" of the search issue (the full set averages 761 per patient). Output:
one `<patient uuid>.json` per patient (`.json.bz2` with --compress), or POSTed to a server.
"""

from __future__ import annotations

import argparse
import bz2
import functools
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from bench import synthea

UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NAMESPACE = uuid.UUID("6f1d3c52-9a51-4c1e-8d0e-2b1f0b2c8a11")
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
SOURCES = 120


def new_identifiers(n: int) -> dict[str, str]:
    """Unique replacement values for the person identifiers of patient n (n < 10**6)."""
    return {"SS": f"998-{n // 10000:02d}-{n % 10000:04d}", "DL": f"S98{n:06d}", "PPN": f"X{n:08d}X"}


def _own_uuids(bundle: dict[str, Any]) -> set[bytes]:
    found = set()
    for entry in bundle.get("entry", []):
        full_url = entry.get("fullUrl", "")
        if full_url.startswith("urn:uuid:"):
            found.add(full_url.removeprefix("urn:uuid:").encode())
        rid = (entry.get("resource") or {}).get("id")
        if isinstance(rid, str) and UUID.fullmatch(rid.encode()):
            found.add(rid.encode())
    return found


def _identifier_replacements(bundle: dict[str, Any], n: int) -> dict[bytes, bytes]:
    fresh = new_identifiers(n)
    replacements: dict[bytes, bytes] = {}
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "Patient":
            continue
        for identifier in resource.get("identifier", []):
            codes = [c.get("code") for c in (identifier.get("type") or {}).get("coding", [])]
            for code in codes:
                if code in fresh and identifier.get("value"):
                    replacements[f'"{identifier["value"]}"'.encode()] = f'"{fresh[code]}"'.encode()
    return replacements


def _drop_types(bundle: dict[str, Any], excluded: set[str]) -> dict[str, Any]:
    kept, dropped = [], set()
    for entry in bundle.get("entry", []):
        if (entry.get("resource") or {}).get("resourceType") in excluded:
            dropped.add(entry.get("fullUrl"))
        else:
            kept.append(entry)
    text = orjson.dumps(kept)
    for full_url in dropped:
        if full_url and f'"{full_url}"'.encode() in text:
            raise ValueError(f"a kept resource refers to the excluded {full_url}")
    return {**bundle, "entry": kept}


@functools.cache
def _source(path: str, excluded: frozenset[str]) -> tuple[bytes, set[bytes], dict[str, Any]]:
    bundle = synthea.read_bundle(Path(path))
    if excluded:
        bundle = _drop_types(bundle, set(excluded))
    return orjson.dumps(bundle), _own_uuids(bundle), bundle


def replicate(
    path: Path, n: int, seed: int = 0, excluded: frozenset[str] = frozenset()
) -> tuple[str, bytes]:
    """(new patient id, Bundle JSON) of patient n, a copy of the Bundle at `path`."""
    text, own, bundle = _source(str(path), excluded)
    mapping = {
        old: str(uuid.uuid5(NAMESPACE, f"{seed}:{n}:{old.decode()}")).encode() for old in own
    }
    text = UUID.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)
    for old, new in _identifier_replacements(bundle, n).items():
        text = text.replace(old, new)
    patient = next(
        (e for e in bundle["entry"] if e.get("resource", {}).get("resourceType") == "Patient"), None
    )
    old_id = (patient or {}).get("resource", {}).get("id", "")
    return mapping.get(old_id.encode(), b"").decode() or f"patient-{n}", text


def _write_one(args: tuple[str, int, str, int, bool, frozenset[str]]) -> tuple[str, int]:
    source, n, out, seed, compress, excluded = args
    pid, text = replicate(Path(source), n, seed, excluded)
    target = Path(out) / (f"{pid}.json.bz2" if compress else f"{pid}.json")
    target.write_bytes(bz2.compress(text, 1) if compress else text)
    return target.name, len(text)


def plan(sources: list[Path], patients: int) -> Iterator[tuple[Path, int]]:
    for n in range(patients):
        yield sources[n % len(sources)], n


def small_sources(sources: list[Path], max_entries: int) -> list[Path]:
    """The source patients whose Bundles hold at most `max_entries` entries."""
    return [p for p in sources if synthea.entry_count(synthea.read_bytes(p)) <= max_entries]


def check_references(text: bytes) -> list[str]:
    """`urn:uuid:` references that name no entry of the Bundle (should be none)."""
    bundle = orjson.loads(text)
    full_urls = {e.get("fullUrl") for e in bundle.get("entry", [])}
    refs = set(re.findall(rb'"reference":"(urn:uuid:[0-9a-f-]{36})"', text))
    return sorted(r.decode() for r in refs if r.decode() not in full_urls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.replicate_synthea", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--patients", type=int, required=True, help="how many patients")
    parser.add_argument("--source", default=str(synthea.DEFAULT_DIR), help="Synthea directory")
    parser.add_argument("--out", help="output directory (Bundles the importer loads)")
    parser.add_argument("--post", help="FHIR base URL to POST the Bundles to instead")
    parser.add_argument("--header", action="append", default=[], help="'Name: value' for --post")
    parser.add_argument("--jobs", type=int, default=1, help="processes (or --post clients)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compress", action="store_true", help="write .json.bz2 (slower)")
    parser.add_argument("--exclude-types", default="", help="comma-separated resource types")
    parser.add_argument(
        "--max-source-entries", type=int, help="copy only source patients with at most N entries"
    )
    args = parser.parse_args(argv)
    if bool(args.out) == bool(args.post):
        parser.error("give exactly one of --out and --post")
    shared, sources = synthea.bundle_files(Path(args.source))
    if len(sources) != SOURCES:
        print(f"note: {len(sources)} source patients (expected {SOURCES})", file=sys.stderr)
    if args.max_source_entries:
        sources = small_sources(sources, args.max_source_entries)
        print(f"{len(sources)} source patients have at most {args.max_source_entries} entries")
    excluded = frozenset(t for t in args.exclude_types.split(",") if t)
    start = time.monotonic()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for path in shared:
            shutil.copyfile(path, out / path.name)
        work = [
            (str(p), n, str(out), args.seed, args.compress, excluded)
            for p, n in plan(sources, args.patients)
        ]
        total = 0
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for done, (_, size) in enumerate(pool.map(_write_one, work, chunksize=8), 1):
                total += size
                if done % 100 == 0:
                    print(f"{done}/{args.patients} patients", file=sys.stderr)
        print(
            f"wrote {args.patients} patient Bundles ({total / 2**20:.0f} MiB) and "
            f"{len(shared)} shared Bundles to {out} in {time.monotonic() - start:.0f} s"
        )
        return 0
    return _post_all(args, shared, sources, excluded, start)


def _post_all(
    args: argparse.Namespace,
    shared: list[Path],
    sources: list[Path],
    excluded: frozenset[str],
    start: float,
) -> int:
    import httpx

    headers = {"Content-Type": "application/fhir+json", "Prefer": "return=minimal"}
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    base = args.post.rstrip("/")
    with httpx.Client(timeout=900, headers=headers) as client:
        for path in shared:
            client.post(base, content=synthea.read_bytes(path)).raise_for_status()

        def post(item: tuple[Path, int]) -> int:
            _, text = replicate(item[0], item[1], args.seed, excluded)
            response = client.post(base, content=text)
            response.raise_for_status()
            return len(orjson.loads(text)["entry"])

        resources = 0
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for done, count in enumerate(pool.map(post, plan(sources, args.patients)), 1):
                resources += count
                if done % 20 == 0:
                    rate = resources / (time.monotonic() - start)
                    print(
                        f"{done}/{args.patients} patients, {rate:.0f} resources/s", file=sys.stderr
                    )
    seconds = time.monotonic() - start
    print(f"posted {args.patients} patients ({resources} resources) in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
