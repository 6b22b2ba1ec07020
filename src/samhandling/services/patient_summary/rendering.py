"""The whole summary for people: HTML and PDF, in Norwegian bokmål or English.

Rendered from the generated (signed) Bundle and nothing else, so what a reader sees is what
the JSON says: the Composition's title, date and sections, the Patient it names, the
signature's key. Jinja2 templates (package data, `templates/`) with autoescaping: every value
is escaped. A section's narrative is XHTML that came with the Bundle — generated here, or
written abroad — and is sanitised (nh3, an allow-list of the narrative's formatting
elements, no attributes that fetch or style) before it is placed. WeasyPrint makes the PDF
with a URL fetcher that fetches nothing, so a narrative cannot make the server call out.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

import nh3
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from samhandling.fhir.bundle_references import entry_resource
from samhandling.fhir.outcome import FhirError, error

HTML = "text/html"
PDF = "application/pdf"
JSON = "application/fhir+json"
#: `_format` values (R4 §3.1.0.1.8: "html and text/html are allowed"; the MIME type for PDF)
FORMATS = {
    "json": JSON, "application/json": JSON, "application/fhir+json": JSON,
    "html": HTML, "text/html": HTML, "pdf": PDF, "application/pdf": PDF,
}  # fmt: skip
_ACCEPTED = {**FORMATS, "*/*": JSON, "application/*": JSON, "text/*": HTML}

#: the narrative's formatting elements kept (txt-1's list without img, a, and forms)
NARRATIVE_TAGS = frozenset({
    "b", "i", "u", "s", "em", "strong", "small", "big", "tt", "sub", "sup", "br", "hr", "p",
    "div", "span", "pre", "code", "blockquote", "q", "cite", "h1", "h2", "h3", "h4", "h5",
    "h6", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th",
    "td", "caption", "colgroup", "col",
})  # fmt: skip
NARRATIVE_ATTRIBUTES = {"td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}

LABELS: dict[str, dict[str, str]] = {
    "nb": {
        "patient": "Pasient", "born": "Født", "identifier": "Identifikator",
        "gender": "Kjønn", "date": "Laget", "custodian": "Ansvarlig",
        "signed": "Signert (JWS) med nøkkel", "unsigned": "Ikke signert",
        "contents": "Innhold", "language": "nb",
    },
    "en": {
        "patient": "Patient", "born": "Born", "identifier": "Identifier",
        "gender": "Gender", "date": "Created", "custodian": "Custodian",
        "signed": "Signed (JWS) with key", "unsigned": "Not signed",
        "contents": "Contents", "language": "en",
    },
}  # fmt: skip


def requested_format(format_parameter: str | None, accept: str | None) -> str:
    """The media type to answer with: `_format` overrides `Accept` (R4 §3.1.0.1.8); an
    Accept with several types takes the highest `q` (first on a tie); JSON by default.
    A `_format`, or an Accept naming only types we cannot make, is a 406."""
    if format_parameter:
        found = FORMATS.get(format_parameter.strip().lower())
        if found is None:
            message = f"_format {format_parameter!r} is not supported (json, html or pdf)"
            raise FhirError(406, error("not-supported", message, "_format"))
        return found
    if not accept:
        return JSON
    offers: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *options = (item.strip() for item in part.split(";"))
        quality = next((_q(o[2:]) for o in options if o.startswith("q=")), 1.0)
        if media.lower() in _ACCEPTED and quality > 0:
            offers.append((-quality, position, _ACCEPTED[media.lower()]))
    if not offers:
        message = "Accept names no type the summary is made in (fhir+json, text/html, pdf)"
        raise FhirError(406, error("not-supported", message))
    return min(offers)[2]


def _q(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("samhandling.services.patient_summary", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def sanitised(div: str) -> str:
    """A narrative's XHTML with only formatting elements left (safe to place in a page)."""
    return nh3.clean(
        div,
        tags=set(NARRATIVE_TAGS),
        attributes={k: set(v) for k, v in NARRATIVE_ATTRIBUTES.items()},
        url_schemes=set(),
        strip_comments=True,
        link_rel=None,
    )


def render_html(bundle: dict[str, Any], language: str) -> str:
    """The summary as one self-contained HTML page."""
    template = _environment().get_template("summary.html")
    return template.render(**page(bundle, language))


def render_pdf(bundle: dict[str, Any], language: str) -> bytes:
    """The summary as PDF (WeasyPrint), fetching nothing from anywhere."""
    from weasyprint import HTML as WeasyHTML  # imported on use: pango loads slowly

    document = WeasyHTML(string=render_html(bundle, language), url_fetcher=_fetch_nothing)
    return bytes(document.write_pdf())


def page(bundle: dict[str, Any], language: str) -> dict[str, Any]:
    """What the template shows, read from the Bundle alone (a foreign one too)."""
    composition = (bundle.get("entry") or [{}])[0].get("resource") or {}
    patient = resolve(bundle, composition.get("subject"))
    custodian = resolve(bundle, composition.get("custodian"))
    return {
        "labels": LABELS.get(language, LABELS["en"]),
        "title": composition.get("title") or "Patient summary",
        "date": str(composition.get("date") or bundle.get("timestamp") or "").replace("T", " "),
        "custodian": custodian.get("name") or (composition.get("custodian") or {}).get("display"),
        "patient": _patient(patient),
        "note": Markup(sanitised(str((composition.get("text") or {}).get("div") or ""))),
        "sections": [_section(s) for s in composition.get("section") or []],
        "key_id": signing_key_id(bundle),
    }


def resolve(bundle: dict[str, Any], reference: Any) -> dict[str, Any]:
    """The resource a reference names inside a document Bundle (a copy), or {}."""
    return dict(entry_resource(bundle, reference) or {})


def _patient(patient: dict[str, Any]) -> dict[str, Any]:
    names = patient.get("name") or [{}]
    name = names[0].get("text") or " ".join(
        [*(names[0].get("given") or []), str(names[0].get("family") or "")]
    )
    return {
        "name": name.strip() or str(patient.get("id") or "?"),
        "born": patient.get("birthDate"),
        "gender": patient.get("gender"),
        "identifiers": [
            str(i.get("value")) for i in patient.get("identifier") or [] if i.get("value")
        ],
    }


def _section(section: dict[str, Any]) -> dict[str, Any]:
    div = (section.get("text") or {}).get("div") or ""
    return {
        "title": section.get("title") or "",
        "code": ", ".join(
            str(c.get("code")) for c in (section.get("code") or {}).get("coding") or []
        ),
        "narrative": Markup(sanitised(str(div))),
    }


def signing_key_id(bundle: dict[str, Any]) -> str | None:
    """The `kid` in the header of the Bundle's detached JWS, if it has one."""
    try:
        compact = base64.b64decode(bundle["signature"]["data"]).decode()
        encoded = compact.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        return str(header["kid"])
    except (KeyError, TypeError, ValueError):
        return None


def _fetch_nothing(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the summary's PDF fetches nothing ({url[:40]})")
