"""De-identification of a research export (`_deidentify=<project>`, docs/BULK_EXPORT.md).

Pure transformation of one resource with the project's key:

- direct identifiers go: `identifier` (at any depth, also in references) and
  `masterIdentifier`, on people (Patient, Practitioner, RelatedPerson, Person, also
  contained or inside a Bundle) `name` and `qualification`, and
  everywhere `telecom`, `address`, `photo`, `contact`;
- free text goes: narratives (`text`), `note`, `comment`, `patientInstruction`,
  `description`, `valueString`, `display` strings other than a coding's, attachments'
  `data`, `url` and `title` (and a Binary's `data`); extensions left without a value go
  with them; digital signatures (`signature`, e.g. a Provenance's: a signature over the
  identified content) go too;
- resource ids (also of resources inside a Bundle; not contained ones), `Type/id`
  references and `fullUrl`s become keyed pseudonyms (HMAC-SHA-256 of `Type/id` with the
  project's key, base32), so references between exported resources still join and the
  same project gets the same pseudonyms every time;
- every date, dateTime, instant and period bound (precision month or finer) is shifted
  by the patient's offset (keyed, 1..180 days either way, the same for every resource of
  that patient and project); `birthDate` keeps its year only;
- `meta` keeps only `profile`, `tag` and `security`, marked PSEUDED.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

PERSON_TYPES = frozenset({"Patient", "Practitioner", "RelatedPerson", "Person"})
_PERSON_KEYS = frozenset({"name", "qualification"})
_DROPPED = frozenset(
    {
        "identifier",
        "masterIdentifier",
        "telecom",
        "address",
        "photo",
        "contact",
        "note",
        "comment",
        "patientInstruction",
        "description",
        "valueString",
        "valueAddress",
        "valueHumanName",
        "valueContactPoint",
        "valueIdentifier",
        "signature",
    }
)
_ATTACHMENT_DROPPED = ("data", "url", "title")
_ATTACHMENT_KEYS = frozenset({"attachment", "presentedForm", "valueAttachment", "content"})
_REFERENCE = re.compile(r"^(?:.*/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/.*)?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?(T.*)?$")
_MAX_SHIFT_DAYS = 180
_META_KEPT = ("profile", "tag", "security")
DEIDENTIFIED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}


@dataclass(frozen=True)
class Pseudonyms:
    """The keyed functions of one research project (the key never leaves this object)."""

    key: bytes

    def __repr__(self) -> str:  # never show the key in a log or a traceback
        return "Pseudonyms(<key>)"

    def pseudonym(self, resource_type: str, resource_id: str) -> str:
        """The project's stable id for `resource_type/resource_id` (32 base32 letters)."""
        digest = self._mac(f"id:{resource_type}/{resource_id}")
        return base64.b32encode(digest[:20]).decode().lower()

    def day_shift(self, patient_id: str | None) -> int:
        """The patient's date offset in days (±1..180); 0 for no patient."""
        if patient_id is None:
            return 0
        number = int.from_bytes(self._mac(f"shift:{patient_id}")[:8], "big")
        magnitude = number % _MAX_SHIFT_DAYS + 1
        return magnitude if number & (1 << 63) else -magnitude

    def _mac(self, text: str) -> bytes:
        return hmac.new(self.key, text.encode(), hashlib.sha256).digest()


def deidentify(
    resource: dict[str, Any], patient_id: str | None, pseudonyms: Pseudonyms
) -> dict[str, Any]:
    """A de-identified copy of `resource`, whose compartment is `patient_id`'s."""
    cleaned = _object(resource, pseudonyms.day_shift(patient_id), pseudonyms, None)
    meta = {k: v for k, v in (cleaned.get("meta") or {}).items() if k in _META_KEPT}
    meta["security"] = [*meta.get("security", []), DEIDENTIFIED]
    cleaned["meta"] = meta
    return cleaned


def _node(value: Any, shift: int, pseudonyms: Pseudonyms, key: str | None) -> Any:
    if isinstance(value, dict):
        return _object(value, shift, pseudonyms, key)
    if isinstance(value, list):
        items = [_node(item, shift, pseudonyms, key) for item in value]
        if key in ("extension", "modifierExtension"):
            items = [i for i in items if _has_value(i)]
        return items
    if isinstance(value, str):
        if key == "reference":
            return _reference(value, pseudonyms)
        if shift and key not in ("code", "version", "system", "id"):
            return shift_date(value, shift)
    return value


def _object(
    value: dict[str, Any], shift: int, pseudonyms: Pseudonyms, key: str | None
) -> dict[str, Any]:
    rtype = value.get("resourceType")
    found: dict[str, Any] = {}
    for name, item in value.items():
        if name in _DROPPED or (name == "text" and isinstance(item, dict)):
            continue
        if name == "display" and "code" not in value and "system" not in value:
            continue  # a reference's display (a name); a coding's display is a term
        if key in _ATTACHMENT_KEYS and name in _ATTACHMENT_DROPPED:
            continue
        if (rtype in PERSON_TYPES and name in _PERSON_KEYS) or (
            rtype == "Binary" and name == "data"
        ):
            continue
        if name == "birthDate" and isinstance(item, str):
            found[name] = item[:4]
        elif name == "fullUrl" and isinstance(item, str):
            found[name] = _reference(item, pseudonyms)
        elif name == "id" and isinstance(rtype, str) and key != "contained":
            found[name] = pseudonyms.pseudonym(rtype, str(item))  # a contained id is local
        else:
            found[name] = _node(item, shift, pseudonyms, name)
    return found


def _has_value(extension: Any) -> bool:
    if not isinstance(extension, dict):
        return False
    return bool(extension.get("extension")) or any(k.startswith("value") for k in extension)


def _reference(reference: str, pseudonyms: Pseudonyms) -> str:
    match = _REFERENCE.match(reference)
    if match is None:
        return reference  # a contained reference (#x) or a canonical: no record id
    return f"{match.group(1)}/{pseudonyms.pseudonym(match.group(1), match.group(2))}"


def shift_date(text: str, days: int) -> str:
    """`text` shifted by `days` when it is a date, dateTime or instant of month precision
    or finer (the precision and any time and zone are kept); other strings unchanged."""
    match = _DATE.match(text)
    if match is None:
        return text
    year, month, day, rest = match.groups()
    try:
        moved = date(int(year), int(month), int(day or 1)) + timedelta(days=days)
    except (ValueError, OverflowError):
        return text
    if day is None:
        return f"{moved.year:04d}-{moved.month:02d}"
    return f"{moved.isoformat()}{rest or ''}"
