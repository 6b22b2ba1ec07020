"""The IPS document Bundle: the Composition first, then everything it points at.

References: every entry's `fullUrl` is `urn:uuid:<uuid5 of the server URL of the
resource>` (stable for a resource, independent of where the summary is read), and every
relative reference inside the Bundle is rewritten to it. Resources the entries point at
(practitioners, organisations, a report's results) are read through the caller's guard and
added, two steps deep; a reference the caller may not follow, or that points outside the
platform, keeps only a `display`, so every `reference` left resolves inside the Bundle.
The author and custodian is the platform itself, as an Organization.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from samhandling.fhir.outcome import FhirError
from samhandling.interactions.operations import OperationContext
from samhandling.interactions.read import read
from samhandling.services.patient_summary import narrative
from samhandling.services.patient_summary.gather import Found
from samhandling.services.patient_summary.ips_shape import ips_shaped
from samhandling.services.patient_summary.sections import SECTIONS, no_info_entry

IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
PLATFORM_ID = "samhandling-platform"
FOLLOW_DEPTH = 2


def urn(base_url: str, reference: str) -> str:
    """The stable `urn:uuid` of a resource of this server (`Type/id`)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{base_url}/{reference}')}"


def platform_organization() -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": PLATFORM_ID,
        "active": True,
        "name": "Samhandling (nasjonal samhandlingsplattform)",
    }


def document(
    context: OperationContext,
    patient: dict[str, Any],
    found: Found,
    now: datetime,
    language: str,
) -> dict[str, Any]:
    """The summary Bundle of `patient` from the sections `found`."""
    base = context.base_url
    patient_ref = f"Patient/{patient['id']}"
    sections, entries = _sections(base, patient_ref, found, language)
    withheld = [s.title(language) for s in SECTIONS if not s.required and found.get(s.key) is None]
    text = narrative.composition_text(patient_name(patient), withheld, language)
    composition = _composition(patient, sections, text, now, language)
    resources = [composition, patient, platform_organization(), *entries]
    resources += _followed(context, resources)
    resources = [composition, *(ips_shaped(r) for r in resources[1:])]
    by_reference = {f"{r['resourceType']}/{r['id']}": r for r in resources}
    for resource in resources:
        _rewrite(resource, base, by_reference)
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [IPS + "Bundle-uv-ips"]},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": "document",
        "timestamp": now.isoformat(timespec="seconds"),
        "entry": [
            {"fullUrl": urn(base, f"{r['resourceType']}/{r['id']}"), "resource": r}
            for r in resources
        ],
    }


def _sections(
    base: str, patient_ref: str, found: Found, language: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sections, entries = [], []
    for section in SECTIONS:
        resources = found.get(section.key)  # None: withheld from the caller
        text = narrative.section_text(section, resources, language)
        if section.required and not resources:
            # nothing known, or nothing the caller may see: IPS's "no information" entry
            # (IPS 1.1.0 forbids emptyReason, so "withheld" is said in the narrative)
            name = f"{patient_ref}/{section.no_info}"
            no_info_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/{name}"))
            resources = [no_info_entry(section, patient_ref, no_info_id)]
        elif not resources:
            continue  # an optional section with nothing in it, or withheld, is left out
        shown: dict[str, Any] = {
            "title": section.title(language),
            "code": section.code_concept(),
            "text": text,
            "entry": [{"reference": f"{r['resourceType']}/{r['id']}"} for r in resources],
        }
        entries += [r for r in resources if r not in entries]
        sections.append(shown)
    return sections, entries


def _composition(
    patient: dict[str, Any],
    sections: list[dict[str, Any]],
    text: dict[str, str],
    now: datetime,
    lang: str,
) -> dict[str, Any]:
    author = {"reference": f"Organization/{PLATFORM_ID}"}
    return {
        "resourceType": "Composition",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [IPS + "Composition-uv-ips"]},
        "language": "nb-NO" if lang == "nb" else "en",
        "text": text,
        "status": "final",
        "type": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": "60591-5",
                    "display": "Patient summary Document",
                }
            ]
        },
        "subject": {"reference": f"Patient/{patient['id']}"},
        "date": now.isoformat(timespec="seconds"),
        "author": [author],
        "title": narrative.WORDS[lang]["title"],
        "confidentiality": "N",
        "custodian": dict(author),
        "section": sections,
    }


def patient_name(patient: dict[str, Any]) -> str:
    for name in patient.get("name") or []:
        given = " ".join(name.get("given") or [])
        text = name.get("text") or f"{given} {name.get('family') or ''}".strip()
        if text:
            return str(text)
    return str(patient.get("id"))


def _references(value: Any) -> list[str]:
    """The relative `Type/id` references anywhere in `value` (contained ones excluded)."""
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    if not isinstance(value, dict):
        return []
    found = []
    for key, item in value.items():
        if key == "reference" and isinstance(item, str) and item.count("/") in (1, 3):
            found.append("/".join(item.split("/")[:2]))
        elif key != "contained":
            found += _references(item)
    return found


def _followed(context: OperationContext, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources the entries point at that the caller may read, two steps deep."""
    known = {f"{r['resourceType']}/{r['id']}" for r in resources}
    added: list[dict[str, Any]] = []
    frontier = resources
    for _ in range(FOLLOW_DEPTH):
        wanted = sorted({ref for r in frontier for ref in _references(r)} - known)
        known |= set(wanted)
        frontier = [found for ref in wanted if (found := _read(context, ref)) is not None]
        added += frontier
    return added


def _read(context: OperationContext, reference: str) -> dict[str, Any] | None:
    rtype, _, rid = reference.partition("/")
    try:
        return read(context.connection, rtype, rid, context.guard).resource()
    except (FhirError, ValueError):
        return None


def _rewrite(value: Any, base: str, known: dict[str, Any]) -> None:
    """Point every reference at its entry's urn, or leave only its display."""
    if isinstance(value, list):
        for item in value:
            _rewrite(item, base, known)
        return
    if not isinstance(value, dict):
        return
    reference = value.get("reference")
    if isinstance(reference, str) and not reference.startswith("#"):
        target = "/".join(reference.split("/")[:2])
        if target in known:
            value["reference"] = urn(base, target)
        else:
            del value["reference"]
            value.setdefault("display", reference.split("/")[0])
    for key, item in value.items():
        if key != "contained":
            _rewrite(item, base, known)
