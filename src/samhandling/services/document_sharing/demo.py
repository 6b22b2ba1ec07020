"""Shared documents for the demo population: about a quarter of the adults have some.

Each has one to three: discharge summaries (9602 `A03-2` Epikrise) from the health trust of
their home, as a small PDF in a Binary, and GP notes (`B02-2` Journalnotat) from their
GP's office as a FHIR document (a `document` Bundle with a Composition), each described by
a DocumentReference with the registry's metadata (author institution by organisation
number, 1303 facility type, 8653 practice setting, 9603 confidentiality `N`, hash and
size). Deterministic per seed and person; the personas get none (tests add their own).

The PDF is written by hand (`tiny_pdf`): a one-page PDF 1.4 with the text in Helvetica and
a correct cross-reference table; no PDF library is a dependency and none is needed for it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
from typing import Any

from samhandling.auth.labels import NO_9603
from samhandling.demo.people import Person
from samhandling.demo.register_model import Org, Register
from samhandling.services.document_sharing.metadata import (
    VOLVEN_1303,
    VOLVEN_8653,
    VOLVEN_9602,
)

Entry = dict[str, Any]
FORMAT = "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode"
COMMUNITY_ROOT = "urn:oid:2.16.578.1.12.4.1.7"


def tiny_pdf(lines: list[str]) -> bytes:
    """A valid one-page PDF showing `lines` (Latin-1 text)."""
    text = "".join(
        f"BT /F1 11 Tf 56 {770 - 16 * n} Td ({_pdf_text(line)}) Tj ET\n"
        for n, line in enumerate(lines)
    ).encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _pdf_text(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def shared_documents(person: Person, register: Register, seed: int, anchor: dt.date) -> list[Entry]:
    """The person's shared documents (none for most, and for children)."""
    rng = random.Random(f"samhandling-demo-documents:{seed}:{person.id}")
    adult = (anchor - person.birth).days >= 18 * 365
    if person.id.startswith("persona-") or not adult or rng.random() >= 0.25:
        return []
    hospital, office = _producers(person, register)
    entries: list[Entry] = []
    for number in range(rng.randint(1, 3)):
        when = dt.datetime.combine(anchor, dt.time(9), dt.UTC) - dt.timedelta(
            days=rng.randrange(10, 4 * 365)
        )
        rid = f"doc-{person.id}-{number}"
        if rng.random() < 0.6:
            entries += discharge_summary(rid, person, hospital, when)
        else:
            entries += gp_note(rid, person, office, when)
    return entries


def _producers(person: Person, register: Register) -> tuple[Org, Org]:
    def local(kind: str) -> Org:
        found = [o for o in register.organisations if o.kind == kind and o.orgnr]
        near = [o for o in found if o.kommune == person.home.kommune]
        return (near or found)[0]

    return local("hf"), local("legekontor")


def discharge_summary(rid: str, person: Person, hospital: Org, when: dt.datetime) -> list[Entry]:
    """A discharge summary as a PDF Binary and its DocumentReference."""
    pdf = tiny_pdf(
        [
            f"Epikrise - {hospital.name}",
            f"Pasient: {person.given} {person.family}",
            f"Utskrevet {when.date().isoformat()}",
            "Innlagt med pneumoni, behandlet med antibiotika. God bedring.",
        ]
    )
    binary = {
        "resourceType": "Binary",
        "id": f"{rid}-pdf",
        "contentType": "application/pdf",
        "data": base64.b64encode(pdf).decode(),
    }
    reference = document_reference(
        rid, person.id, hospital, when, ("A03-2", "Epikrise"), ("86.101", "86.212")
    )
    reference["content"] = [_content(f"Binary/{rid}-pdf", "application/pdf", pdf)]
    return [binary, reference]


def gp_note(rid: str, person: Person, office: Org, when: dt.datetime) -> list[Entry]:
    """A GP's note as a FHIR document Bundle and its DocumentReference."""
    stamp = when.isoformat(timespec="seconds")
    composition = {
        "resourceType": "Composition",
        "id": f"{rid}-composition",
        "status": "final",
        "type": {"coding": [{"system": VOLVEN_9602, "code": "B02-2", "display": "Journalnotat"}]},
        "subject": {"reference": f"Patient/{person.id}"},
        "date": stamp,
        "author": [{"display": office.name}],
        "title": "Journalnotat",
        "section": [{"title": "Notat", "text": {"status": "generated", "div": _div(office)}}],
    }
    bundle = {
        "resourceType": "Bundle",
        "id": f"{rid}-document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{_uuid(rid)}"},
        "type": "document",
        "timestamp": stamp,
        "entry": [
            {"fullUrl": f"Composition/{rid}-composition", "resource": composition},
        ],
    }
    reference = document_reference(
        rid, person.id, office, when, ("B02-2", "Journalnotat"), ("86.211", "86.211")
    )
    reference["content"] = [
        {
            "attachment": {"contentType": "application/fhir+json", "url": f"Bundle/{rid}-document"},
            "format": {"system": FORMAT, "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient"},
        }
    ]
    return [bundle, reference]


def _div(office: Org) -> str:
    text = f"Kontroll hos fastlege ved {office.name}. Blodtrykk stabilt, fortsetter behandling."
    return f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{text}</p></div>'


def document_reference(
    rid: str,
    patient: str,
    author: Org,
    when: dt.datetime,
    kind: tuple[str, str],
    facility: tuple[str, str],
) -> Entry:
    """A DocumentReference with the registry's metadata (content added by the caller)."""
    facility_type = facility[0] if author.kind == "hf" else facility[1]
    return {
        "resourceType": "DocumentReference",
        "id": rid,
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{_uuid(rid)}"},
        "status": "current",
        "type": {"coding": [{"system": VOLVEN_9602, "code": kind[0], "display": kind[1]}]},
        "subject": {"reference": f"Patient/{patient}"},
        "date": when.isoformat(timespec="seconds"),
        "author": [{"reference": f"Organization/{author.id}"}],
        "securityLabel": [{"coding": [{"system": NO_9603, "code": "N", "display": "Normal"}]}],
        "context": {
            "facilityType": {"coding": [{"system": VOLVEN_1303, "code": facility_type}]},
            "practiceSetting": {"coding": [{"system": VOLVEN_8653, "code": "3"}]},
            "period": {"start": when.isoformat(timespec="seconds")},
        },
        "description": kind[1],
    }


def _content(url: str, content_type: str, data: bytes) -> Entry:
    digest = base64.b64encode(hashlib.sha1(data).digest()).decode()  # MHD: SHA-1
    return {
        "attachment": {"contentType": content_type, "url": url, "size": len(data), "hash": digest},
        "format": {"system": FORMAT, "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient"},
    }


def _uuid(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"
