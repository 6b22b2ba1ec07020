"""Security labels on resources, and who they withhold the resource from.

Labels are read from `meta.security`, `DocumentReference.securityLabel` and
`Composition.confidentiality`. Code systems honoured:

- HL7 v3 ActCode (`http://terminology.hl7.org/CodeSystem/v3-ActCode`): `NOPAT` — no
  disclosure to the patient, family or caregivers.
- HL7 v3 Confidentiality: `R` (restricted: clinicians need TREAT, ETREAT or BTG) and `V`
  (very restricted: clinicians need BTG; not shown to representatives; never to systems).
- Norwegian 9603 "Sperring og nekting av dokumenter" (`urn:oid:2.16.578.1.12.4.1.1.9603`,
  canonical `http://helsedir.no/fhir/CodeSystem/no-kodeverk-9603`): `NORN_*` — the
  patient is denied access (withheld from the citizen and their representatives), except
  `NORN_FORANS` (withheld from parents only) and `NORN_UNGDOM` (withheld from the young
  person aged 12–15 themselves; parents keep access); `NORU` — delayed access for the
  citizen (withheld until the label is lifted); `NORS` — blocked by the citizen from
  health personnel (withheld from clinicians and systems, emergencies included).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
NO_9603 = "urn:oid:2.16.578.1.12.4.1.1.9603"
NO_9603_URL = "http://helsedir.no/fhir/CodeSystem/no-kodeverk-9603"
_NO_9603_SYSTEMS = (NO_9603, NO_9603_URL)


@dataclass(frozen=True)
class Labels:
    """What a resource's security labels mean for access."""

    withheld_from_patient: bool = False
    withheld_from_parents: bool = False
    withheld_from_youth: bool = False
    blocked_for_personnel: bool = False
    restricted: bool = False
    very_restricted: bool = False


NO_LABELS = Labels()  # frozen: one for every resource without labels (most of them)


def _codings(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    meta = resource.get("meta")
    for coding in (meta.get("security") if isinstance(meta, dict) else None) or []:
        if isinstance(coding, dict):
            yield str(coding.get("system", "")), str(coding.get("code", ""))
    for concept in resource.get("securityLabel") or []:
        for coding in (concept.get("coding") if isinstance(concept, dict) else None) or []:
            if isinstance(coding, dict):
                yield str(coding.get("system", "")), str(coding.get("code", ""))
    if resource.get("resourceType") == "Composition" and resource.get("confidentiality"):
        yield V3_CONFIDENTIALITY, str(resource["confidentiality"])


#: of `meta`, the labels (and the services' rules reading them) read only `security`
META_READS = frozenset({"security"})


def label_reads(resource_type: str) -> frozenset[str]:
    """The top-level elements `labels_of` reads of a `resource_type` resource (of `meta`
    only `META_READS`)."""
    if resource_type == "Composition":
        return frozenset({"resourceType", "meta", "securityLabel", "confidentiality"})
    return frozenset({"resourceType", "meta", "securityLabel"})


def labels_of(resource: dict[str, Any] | None) -> Labels:
    """The access meaning of a resource's security labels (no labels → all False)."""
    if not resource:
        return NO_LABELS
    flags: dict[str, bool] = {}
    for system, code in _codings(resource):
        if system == V3_ACT_CODE and code == "NOPAT":
            flags["withheld_from_patient"] = True
        elif system == V3_CONFIDENTIALITY and code in ("R", "V"):
            flags["restricted" if code == "R" else "very_restricted"] = True
        elif system in _NO_9603_SYSTEMS:
            _norwegian(code, flags)
    return Labels(**flags) if flags else NO_LABELS


def _norwegian(code: str, flags: dict[str, bool]) -> None:
    if code == "NORN_FORANS":
        flags["withheld_from_parents"] = True
    elif code == "NORN_UNGDOM":
        flags["withheld_from_youth"] = True
    elif code.startswith("NORN_") or code == "NORU":
        flags["withheld_from_patient"] = True
    elif code == "NORS":
        flags["blocked_for_personnel"] = True
