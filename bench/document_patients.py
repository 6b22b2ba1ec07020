"""Patients with many shared documents, for the ITI-67 benchmark (issue #18).

    python -m bench.document_patients --patients 20 --documents 200 \
        --database postgresql://postgres@127.0.0.1:5432/bench_documents

Run after `bench.population ... --for-all document-sharing` (every citizen has one to three
of the demo's documents). Chooses `--patients` citizens (by `--seed`) among those whose
documents include a discharge summary with its PDF in a Binary, and gives each
`--documents` copies of that document (so each has 201-203 with the demo's own): each copy
a DocumentReference with its own id, uniqueId (`masterIdentifier`), date (a day earlier
each) and its own Binary (a small PDF naming the copy; the registry works out the
attachment's size and hash). Created at fixed ids through the store's
bulk path with the services' write rules, as `bench.population` loads (one transaction per
patient); a patient whose first copy is there is skipped, so a stopped run can be started
again with the same arguments.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import random
import sys
import time
import uuid
from typing import Any

import orjson

PREFIX = "bench-doc"


def log(message: str) -> None:
    print(f"[document_patients {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def templates(connection: Any, patients: int, seed: int) -> dict[str, tuple[Any, Any]]:
    """Per chosen patient: one of its documents with a Binary, and that Binary."""
    from sqlalchemy import select

    from samhandling.store.schema import compartment, resource

    documents = connection.execute(
        select(compartment.c.patient_id, resource.c.content)
        .join(
            resource,
            (resource.c.resource_type == compartment.c.resource_type)
            & (resource.c.resource_id == compartment.c.resource_id),
        )
        .where(compartment.c.resource_type == "DocumentReference")
    ).all()
    found: dict[str, Any] = {}
    for patient, content in documents:
        document = orjson.loads(bytes(content))
        url = document["content"][0]["attachment"].get("url", "")
        if url.startswith("Binary/") and not document["id"].startswith(PREFIX):
            found.setdefault(patient, document)
    chosen = random.Random(seed).sample(sorted(found), min(patients, len(found)))
    binaries = {
        row[0]: orjson.loads(bytes(row[1]))
        for row in connection.execute(
            select(resource.c.resource_id, resource.c.content).where(
                resource.c.resource_type == "Binary",
                resource.c.resource_id.in_(
                    [found[p]["content"][0]["attachment"]["url"][7:] for p in chosen]
                ),
            )
        )
    }
    return {
        p: (found[p], binaries[found[p]["content"][0]["attachment"]["url"][7:]]) for p in chosen
    }


def tiny_pdf(lines: list[str]) -> bytes:
    from samhandling.services.document_sharing.demo import tiny_pdf as pdf

    return pdf(lines)


def copies(patient: str, document: dict[str, Any], binary: dict[str, Any], count: int) -> list[Any]:
    """`count` copies of `document`, each with its own Binary, uniqueId and date."""
    made = []
    date = dt.datetime.fromisoformat(document["date"])
    for k in range(count):
        binary_id = f"{PREFIX}-bin-{patient}-{k}"[:64]
        pdf = tiny_pdf([str(document.get("description", "Epikrise")), f"Kopi {k + 1}"])
        made.append(
            {
                "resourceType": "Binary",
                "id": binary_id,
                "contentType": "application/pdf",
                "securityContext": binary.get("securityContext"),
                "data": base64.b64encode(pdf).decode(),
            }
        )
        copied = {k: v for k, v in copy.deepcopy(document).items() if k != "meta"}
        copied["id"] = f"{PREFIX}-{patient}-{k}"[:64]
        unique = uuid.uuid5(uuid.NAMESPACE_URL, f"{PREFIX}/{patient}/{k}")
        copied["masterIdentifier"] = {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{unique}"}
        copied.pop("identifier", None)
        copied["date"] = (date - dt.timedelta(days=k + 1)).isoformat()
        attachment = copied["content"][0]["attachment"]
        attachment["url"] = f"Binary/{binary_id}"
        for derived in ("size", "hash"):  # the registry works them out from the content
            attachment.pop(derived, None)
        made.append(copied)
    return made


def give(engine: Any, rules: Any, patient: str, resources: list[Any]) -> int:
    """Create the resources in one transaction (0 when the first is already there)."""
    from samhandling.access_guard import OPEN_ACCESS
    from samhandling.interactions import crud
    from samhandling.interactions.transactions import write_transaction
    from samhandling.store.version_writer import VersionWriter

    with write_transaction(engine) as connection:
        versions = VersionWriter(connection, OPEN_ACCESS, rules, bulk_creates=True)
        if versions.current("DocumentReference", resources[1]["id"]) is not None:
            return 0
        for resource in resources:
            crud.create(versions, resource, resource_id=resource["id"])
    return len(resources)


def seed_documents(url: str, patients: int, documents: int, seed: int) -> dict[str, Any]:
    from samhandling.services import default_platform
    from samhandling.store.database import make_engine
    from samhandling.store.planner_statistics import refresh_statistics

    engine = make_engine(url, pool_size=1)
    rules = default_platform().write_rules
    started, created = time.monotonic(), 0
    try:
        with engine.connect() as connection:
            chosen = templates(connection, patients, seed)
        if not chosen:
            raise SystemExit("no patient has a document with a Binary: run bench.population first")
        for number, (patient, (document, binary)) in enumerate(sorted(chosen.items()), 1):
            created += give(engine, rules, patient, copies(patient, document, binary, documents))
            log(f"{number}/{len(chosen)} patients, {created} resources")
        refresh_statistics(engine)
    finally:
        engine.dispose()
    return {
        "patients": sorted(chosen),
        "documents_added_each": documents,
        "resources": created,
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.document_patients", description=__doc__)
    parser.add_argument("--database", required=True, help="a database seeded by bench.population")
    parser.add_argument("--patients", type=int, default=20, help="patients to give documents (20)")
    parser.add_argument("--documents", type=int, default=200, help="documents added to each (200)")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    summary = seed_documents(args.database, args.patients, args.documents, args.seed)
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
