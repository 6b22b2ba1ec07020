"""What IPS 1.1.0 requires of an entry that the platform's records may lack, as data, and
the IPS profile each entry claims.

Every entry of the summary claims the IPS profile of its type in `meta.profile` (beside the
platform's own, e.g. the Kj profiles), so `$validate` holds each to it; an Observation in
the summary is always a result (`gather.is_result`), so it claims Observation-results.

The IPS profiles make some time elements required (`MedicationStatement.effective[x]`,
`DeviceUseStatement.timing[x]`, `Procedure.performed[x]`, …); a record registered here
without one (a medication list entry with no start date, an implant with no date) is put in
the summary with the element present only as a data-absent-reason `unknown` (FHIR's way of
saying "required, but not known": `_timingDateTime: {extension: [...]}`, as the IPS
example DeviceUseStatement does). Nothing is invented; the stored record is not changed.
"""

from __future__ import annotations

import copy
from typing import Any

DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

#: resource type → the stem of its required choice element (IPS 1.1.0 profiles)
REQUIRED_TIMES: dict[str, str] = {
    "MedicationStatement": "effective",
    "DeviceUseStatement": "timing",
    "Procedure": "performed",
    "Immunization": "occurrence",
    "Observation": "effective",
    "DiagnosticReport": "effective",
}


IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
#: resource type → the IPS profile its entries claim
PROFILES: dict[str, str] = {
    rtype: f"{IPS}{rtype}-uv-ips"
    for rtype in (
        "Patient", "AllergyIntolerance", "Condition", "MedicationStatement", "Medication",
        "Immunization", "Procedure", "Device", "DeviceUseStatement", "DiagnosticReport",
        "Organization", "Practitioner",
    )
} | {"Observation": f"{IPS}Observation-results-uv-ips"}  # fmt: skip


def ips_shaped(resource: dict[str, Any]) -> dict[str, Any]:
    """A copy of `resource` claiming its IPS profile, each required time it lacks marked
    unknown."""
    shaped = copy.deepcopy(resource)
    rtype = str(resource.get("resourceType"))
    if rtype in PROFILES:
        meta = shaped.setdefault("meta", {})
        meta["profile"] = [*(meta.get("profile") or []), PROFILES[rtype]]
    stem = REQUIRED_TIMES.get(rtype)
    if stem is not None and not any(_is_choice(key, stem) for key in resource):
        shaped[f"_{stem}DateTime"] = {"extension": [{"url": DATA_ABSENT, "valueCode": "unknown"}]}
    return shaped


def _is_choice(key: str, stem: str) -> bool:
    name = key.removeprefix("_")
    return name.startswith(stem) and name[len(stem) : len(stem) + 1].isupper()
