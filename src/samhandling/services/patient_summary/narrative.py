"""The generated narrative of each section, in Norwegian bokmål (nb) or English (en).

A table of what the section holds (what, status, when), or a sentence saying that
nothing is known or that the caller may not see it. Only the XHTML a narrative allows
(txt-1/txt-2: div, p, table rows, no scripts, no attributes but xmlns): every value
is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from samhandling.services.patient_summary.sections import Section
from samhandling.terminology.codes import lookup

XHTML = "http://www.w3.org/1999/xhtml"
LANGUAGES = ("nb", "en")

WORDS: dict[str, dict[str, str]] = {
    "nb": {
        "what": "Hva", "status": "Status", "when": "Tidspunkt",
        "nothing": "Ingen opplysninger registrert.",
        "withheld": "Du har ikke tilgang til denne delen.",
        "title": "Pasientsammendrag", "for": "for",
        "left_out": "Deler du ikke har tilgang til, er utelatt:",
    },
    "en": {
        "what": "What", "status": "Status", "when": "Date",
        "nothing": "No information recorded.",
        "withheld": "This section is withheld from you.",
        "title": "International Patient Summary", "for": "for",
        "left_out": "Sections withheld from you are left out:",
    },
}  # fmt: skip

_CONCEPTS = ("code", "medicationCodeableConcept", "vaccineCode", "type")
_TIMES = (
    "effectiveDateTime", "issued", "occurrenceDateTime", "performedDateTime",
    "onsetDateTime", "recordedDate", "timingDateTime", "dateAsserted", "date",
)  # fmt: skip


def div(body: str) -> dict[str, str]:
    """A generated narrative of `body` (already escaped XHTML)."""
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def section_text(
    section: Section, resources: list[dict[str, Any]] | None, language: str
) -> dict[str, str]:
    """The narrative of one section."""
    words = WORDS[language]
    if resources is None:
        return div(f"<p>{escape(words['withheld'])}</p>")
    if not resources:
        return div(f"<p>{escape(words['nothing'])}</p>")
    head = "".join(f"<th>{escape(words[k])}</th>" for k in ("what", "status", "when"))
    rows = "".join(_row(resource) for resource in resources)
    return div(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def _row(resource: dict[str, Any]) -> str:
    cells = (what(resource), status(resource), when(resource))
    return "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"


def what(resource: dict[str, Any]) -> str:
    """The entry's name: its concept's text, first display or code."""
    for name in _CONCEPTS:
        concept = resource.get(name)
        if isinstance(concept, dict):
            return concept_text(concept)
    devices = [c for c in resource.get("contained") or [] if c.get("resourceType") == "Device"]
    if devices and isinstance(devices[0].get("type"), dict):
        return concept_text(devices[0]["type"])
    return str(resource.get("resourceType"))


def concept_text(concept: dict[str, Any]) -> str:
    """A concept's words: its text, a coding's display, the bundled terminology's display
    of a coding (Volven lists often travel without one), else the bare codes."""
    if concept.get("text"):
        return str(concept["text"])
    codings = concept.get("coding") or []
    for coding in codings:
        if coding.get("display"):
            return str(coding["display"])
    for coding in codings:
        found = lookup(str(coding.get("system") or ""), str(coding.get("code") or ""))
        if found is not None and found.display:
            return found.display
    codes = [f"{c.get('code')}" for c in concept.get("coding") or [] if c.get("code")]
    return ", ".join(codes) or "?"


def status(resource: dict[str, Any]) -> str:
    clinical = resource.get("clinicalStatus")
    if isinstance(clinical, dict):
        return concept_text(clinical)
    return str(resource.get("status") or "")


def when(resource: dict[str, Any]) -> str:
    for name in _TIMES:
        if isinstance(resource.get(name), str):
            return str(resource[name])[:10]
    periods = ("effectivePeriod", "performedPeriod", "period")  # Flag.period: since when
    period: dict[str, Any] = next((resource[n] for n in periods if resource.get(n)), {})
    return str(period.get("start") or "")[:10]


def composition_text(patient_name: str, withheld: list[str], language: str) -> dict[str, str]:
    """The document's own narrative: whose summary it is, and which optional sections were
    left out because the reader may not see them (IPS 1.1.0 has no emptyReason for that)."""
    words = WORDS[language]
    body = f"<p>{escape(words['title'])} {words['for']} {escape(patient_name)}</p>"
    if withheld:
        body += f"<p>{escape(words['left_out'])} {escape(', '.join(withheld))}.</p>"
    return div(body)
