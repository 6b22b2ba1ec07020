"""What the pages show of the services' FHIR answers: plain rows for the templates.

Nothing here decides who sees what: the rows are made of what the policy already let the
caller see. Narratives (`text.div`, untrusted XHTML from whoever wrote the resource) are
cleaned by `nh3` with an allow-list of formatting elements before a template shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import nh3
from markupsafe import Markup

from samhandling.services.critical_information.stamps import LAST_CONFIRMED
from samhandling.services.lab_results.labels import is_blocked
from samhandling.terminology.codes import lookup

#: What a narrative may keep: text formatting, lists and tables; no links, images or styles.
NARRATIVE_TAGS = frozenset(
    {"p", "br", "b", "strong", "i", "em", "span", "div", "ul", "ol", "li", "table", "thead",
     "tbody", "tr", "th", "td", "h3", "h4", "h5", "h6", "pre", "code", "sub", "sup"}
)  # fmt: skip


def narrative(resource: dict[str, Any]) -> Markup | None:
    """The resource's narrative, sanitised (no scripts, styles, links, attributes)."""
    div = (resource.get("text") or {}).get("div")
    if not isinstance(div, str) or not div.strip():
        return None
    clean = nh3.clean(div, tags=set(NARRATIVE_TAGS), attributes={}, url_schemes=set())
    return Markup(clean)  # cleaned by nh3 above


def when(value: Any) -> str:
    """An instant or dateTime as Norwegian local time, `2025-06-20 12:00` (a date as is)."""
    text = str(value or "")
    if len(text) <= 10:
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def local_zone() -> tzinfo:
    try:
        return ZoneInfo("Europe/Oslo")
    except ZoneInfoNotFoundError:  # no time zone database on this machine
        return UTC


def person_name(person: dict[str, Any]) -> str | None:
    """A Patient's first name as "Given Family"; None when it has none."""
    name = (person.get("name") or [{}])[0]
    return " ".join([*name.get("given", []), name.get("family", "")]).strip() or None


def concept_text(concept: Any) -> str:
    """A CodeableConcept in words: its text, a coding's display, else its code."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if coding.get("display"):
            return str(coding["display"])
    names = []
    for coding in concept.get("coding") or []:
        found = lookup(str(coding.get("system")), str(coding.get("code")))
        names.append(found.display if found is not None and found.display else coding.get("code"))
    return ", ".join(str(name) for name in names if name)


def _value(part: dict[str, Any]) -> Any:
    return next((v for k, v in part.items() if k.startswith("value")), None)


def _parts(parameter: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: _value(p) for p in parameter.get("part", []) if "name" in p}


@dataclass
class CriticalGroup:
    kind: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    last_changed: str | None = None


def critical_groups(body: dict[str, Any]) -> list[CriticalGroup]:
    """`$critical-information`'s groups that hold entries, entries as rows."""
    groups = []
    for parameter in body.get("parameter", []):
        if parameter.get("name") != "group":
            continue
        group = CriticalGroup(str(_parts(parameter).get("kind")))
        group.last_changed = _parts(parameter).get("lastChanged")
        for part in parameter.get("part", []):
            if part.get("name") == "entry" and isinstance(part.get("resource"), dict):
                group.entries.append(_critical_row(part["resource"]))
        if group.entries:
            groups.append(group)
    return groups


def _critical_row(entry: dict[str, Any]) -> dict[str, Any]:
    what = concept_text(entry.get("code"))
    if entry.get("resourceType") == "DeviceUseStatement":
        devices = [c for c in entry.get("contained", []) if c.get("resourceType") == "Device"]
        what = what or (concept_text(devices[0].get("type")) if devices else "")
    reactions = [
        concept_text(m)
        for reaction in entry.get("reaction") or []
        for m in reaction.get("manifestation") or []
    ]
    return {
        "id": entry.get("id"),
        "type": entry.get("resourceType"),
        "version": (entry.get("meta") or {}).get("versionId"),
        "confirmed": _confirmed(entry),
        "what": what or "?",
        "reactions": ", ".join(r for r in reactions if r),
        "criticality": entry.get("criticality"),
        "narrative": narrative(entry),
    }


def _confirmed(entry: dict[str, Any]) -> str | None:
    """When and by whom the entry was last confirmed (`kj-last-confirmed`), in words."""
    for extension in entry.get("extension") or []:
        if extension.get("url") == LAST_CONFIRMED:
            parts = {p.get("url"): _value(p) for p in extension.get("extension") or []}
            who = parts.get("practitionerName") or ""
            return f"{when(parts.get('time'))} – {who}".strip(" –") or None
    return None


def medication_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The list's MedicationStatements as rows."""
    rows = []
    for entry in document.get("entry", []):
        item = entry.get("resource") or {}
        if item.get("resourceType") != "MedicationStatement":
            continue
        dosage = "; ".join(d.get("text", "") for d in item.get("dosage") or [] if d.get("text"))
        reasons = [
            e.get("valueString")
            for e in item.get("extension") or []
            if str(e.get("url", "")).endswith("change-reason") and e.get("valueString")
        ]
        rows.append(
            {
                "id": item.get("id"),
                "medicine": concept_text(item.get("medicationCodeableConcept")) or "?",
                "dosage": dosage,
                "status": item.get("status", ""),
                "reason": "; ".join(reasons),
            }
        )
    return rows


def change_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """`$medication-list-changes` as rows: when, who, and each change in words."""
    rows = []
    for change in body.get("parameter", []):
        head = _parts(change)
        texts = [
            _parts(part).get("text")
            for part in change.get("part", [])
            if part.get("name") == "entry"
        ]
        rows.append({"time": head.get("time"), "who": head.get("who"), "changes": texts})
    return rows


#: a result's status when the lab corrected it: a new version that supersedes the earlier one
CORRECTIONS = frozenset({"corrected", "amended"})


def lab_rows(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Reports with their results (the searchset's includes), newest first; a corrected
    (or amended) report or result says so (`corrected`)."""
    resources = [e.get("resource") or {} for e in bundle.get("entry", [])]
    observations = {
        f"Observation/{r.get('id')}": r for r in resources if r.get("resourceType") == "Observation"
    }
    rows = []
    for report in resources:
        if report.get("resourceType") != "DiagnosticReport":
            continue
        results = [
            _observation_row(observations[ref["reference"]])
            for ref in report.get("result") or []
            if ref.get("reference") in observations
        ]
        rows.append(
            {
                "id": report.get("id"),
                "test": concept_text(report.get("code")) or "?",
                "issued": report.get("issued", ""),
                "results": results,
                "conclusion": report.get("conclusion"),
                "narrative": narrative(report),
                "blocked": is_blocked(report),
                "corrected": report.get("status") in CORRECTIONS,
            }
        )
    return sorted(rows, key=lambda row: str(row["issued"]), reverse=True)


def _observation_row(observation: dict[str, Any]) -> dict[str, Any]:
    quantity = observation.get("valueQuantity") or {}
    if quantity:
        value = f"{quantity.get('value', '')} {quantity.get('unit', '')}".strip()
    else:
        value = str(
            observation.get("valueString") or concept_text(observation.get("valueCodeableConcept"))
        )
    return {
        "test": concept_text(observation.get("code")) or "?",
        "value": value,
        "corrected": observation.get("status") in CORRECTIONS,
    }


ACCESS_FIELDS = (
    "time", "action", "organisation", "system", "purpose", "role", "representative", "service",
    "emergency", "emergencyReason",
)  # fmt: skip


def access_rows(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """`$access-log`'s accesses as rows, and the `_after` of the next page, if any."""
    rows, after = [], None
    for parameter in body.get("parameter", []):
        if parameter.get("name") == "access":
            rows.append({**dict.fromkeys(ACCESS_FIELDS), **_parts(parameter)})
        elif parameter.get("name") == "next":
            query = parse_qs(urlsplit(str(parameter.get("valueUri", ""))).query)
            after = query["_after"][0] if query.get("_after") else None
    return rows, after
