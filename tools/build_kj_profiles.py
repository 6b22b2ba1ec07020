"""Write the critical-information (Kjernejournal-style) StructureDefinitions.

    python tools/build_kj_profiles.py   # → src/samhandling/profiles/definitions/kj-*.json

The profiles are authored here, compactly, and the generated differential-only
StructureDefinitions are committed as package data; `samhandling.profiles` checks writes
against them. See docs/CRITICAL_INFORMATION.md for the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BASE = "https://samhandling.no/fhir/StructureDefinition/"
VS = "https://samhandling.no/fhir/ValueSet/"
CORE = "http://hl7.org/fhir/StructureDefinition/"
OUT = Path(__file__).resolve().parents[1] / "src/samhandling/profiles/definitions"
KJ_TYPES = ["AllergyIntolerance", "Condition", "Procedure", "DeviceUseStatement", "Flag"]
VOLVEN_7651 = "urn:oid:2.16.578.1.12.4.1.1.7651"


def definition(
    sid: str,
    name: str,
    title: str,
    type_: str,
    kind: str,
    elements: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "id": sid,
        "url": BASE + sid,
        "version": "1.0.0",
        "name": name,
        "title": title,
        "status": "active",
        "publisher": "samhandling",
        "fhirVersion": "4.0.1",
        "kind": kind,
        "abstract": False,
        "type": type_,
        "baseDefinition": CORE + type_,
        "derivation": "constraint",
        **extra,
        "differential": {"element": elements},
    }


def element(eid: str, **fields: Any) -> dict[str, Any]:
    path = ".".join(part.partition(":")[0] for part in eid.split("."))
    return {"id": eid, "path": path, **fields}


def slice_(root: str, name: str, url: str, lo: int, hi: str, short: str) -> dict[str, Any]:
    return element(
        f"{root}.extension:{name}",
        sliceName=name,
        short=short,
        min=lo,
        max=hi,
        type=[{"code": "Extension", "profile": [BASE + url]}],
    )


def bound(vs: str) -> dict[str, Any]:
    return {"strength": "required", "valueSet": VS + vs}


def simple_extension(
    sid: str, name: str, title: str, value_type: str, **value: Any
) -> dict[str, Any]:
    context = [{"type": "element", "expression": t} for t in KJ_TYPES]
    return definition(
        sid,
        name,
        title,
        "Extension",
        "complex-type",
        [
            element("Extension", short=title),
            element("Extension.extension", max="0"),
            element("Extension.url", fixedUri=BASE + sid),
            element("Extension.value[x]", min=1, type=[{"code": value_type}], **value),
        ],
        context=context,
    )


def stamp_extension(sid: str, name: str, title: str) -> dict[str, Any]:
    """Who (practitioner, organisation, system) did something to an entry, and when."""
    parts = [
        ("practitioner", "Identifier", 0, "HPR number of the health professional"),
        ("practitionerName", "string", 0, "name of the health professional"),
        ("authorization", "Coding", 0, "health-personnel category (9060)"),
        ("organization", "Identifier", 0, "organisation number of the legal entity"),
        ("organizationName", "string", 0, "name of the organisation"),
        ("system", "string", 0, "the client system (EPJ) that sent it"),
        ("time", "dateTime", 1, "when"),
    ]
    elements = [element("Extension", short=title)]
    for part, value_type, lo, short in parts:
        root = f"Extension.extension:{part}"
        elements += [
            element(root, sliceName=part, short=short, min=lo, max="1"),
            element(f"{root}.url", fixedUri=part),
            element(f"{root}.value[x]", min=1, type=[{"code": value_type}]),
        ]
    elements += [
        element("Extension.url", fixedUri=BASE + sid),
        element("Extension.value[x]", max="0"),
    ]
    context = [{"type": "element", "expression": t} for t in KJ_TYPES]
    return definition(sid, name, title, "Extension", "complex-type", elements, context=context)


def common(root: str) -> list[dict[str, Any]]:
    """What every kind of critical information carries."""
    return [
        slice_(
            root,
            "informationSource",
            "kj-information-source",
            1,
            "1",
            "the source of the information (7498)",
        ),
        slice_(root, "validUntil", "kj-valid-until", 0, "1", "until when the entry is valid"),
        slice_(
            root,
            "registered",
            "kj-registered",
            0,
            "1",
            "who registered it and when (set by the server)",
        ),
        slice_(
            root,
            "lastUpdated",
            "kj-last-updated",
            0,
            "1",
            "who last updated it and when (set by the server)",
        ),
        slice_(
            root,
            "lastConfirmed",
            "kj-last-confirmed",
            0,
            "1",
            "who last confirmed it and when (set by the server)",
        ),
        slice_(
            root,
            "enteredInErrorReason",
            "kj-entered-in-error-reason",
            0,
            "1",
            "why the entry was entered in error",
        ),
    ]


def category_pattern(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": VOLVEN_7651, "code": code}]}


def profiles() -> list[dict[str, Any]]:
    allergy = definition(
        "kj-allergy-intolerance",
        "KjAllergyIntolerance",
        "Critical information: allergy or drug reaction",
        "AllergyIntolerance",
        "resource",
        [
            element(
                "AllergyIntolerance",
                short="A drug reaction (category medication) or another allergy",
            ),
            *common("AllergyIntolerance"),
            element(
                "AllergyIntolerance.verificationStatus",
                min=1,
                short="confirmed, unconfirmed (presumed), refuted or entered-in-error",
            ),
            element(
                "AllergyIntolerance.category",
                min=1,
                max="1",
                short="medication (drug reaction), food, environment or biologic",
            ),
            element(
                "AllergyIntolerance.code",
                min=1,
                short="the substance: ATC, SNOMED CT substance or product, other allergen (7514)",
                binding=bound("kj-allergy-substance"),
            ),
            element(
                "AllergyIntolerance.reaction.manifestation",
                short="the reaction (7497)",
                binding=bound("kj-reaction-manifestation"),
            ),
        ],
    )
    condition = definition(
        "kj-condition-critical",
        "KjConditionCriticalMedicalCondition",
        "Critical information: critical medical condition",
        "Condition",
        "resource",
        [
            element(
                "Condition", short="A medical condition that is critical to know of in acute care"
            ),
            *common("Condition"),
            slice_(
                "Condition",
                "criticalReason",
                "kj-critical-reason",
                0,
                "*",
                "why the condition is critical (7513)",
            ),
            element("Condition.verificationStatus", min=1),
            element(
                "Condition.category",
                min=1,
                max="1",
                patternCodeableConcept=category_pattern("5", "Kritisk medisinsk tilstand"),
            ),
            element(
                "Condition.code",
                min=1,
                short="the condition (SNOMED CT)",
                binding=bound("kj-critical-condition"),
            ),
        ],
    )
    procedure = definition(
        "kj-procedure",
        "KjProcedure",
        "Critical information: ongoing treatment",
        "Procedure",
        "resource",
        [
            element("Procedure", short="An ongoing treatment that is critical to know of"),
            *common("Procedure"),
            element(
                "Procedure.category",
                min=1,
                patternCodeableConcept=category_pattern("6", "Behandling"),
            ),
            element(
                "Procedure.code",
                min=1,
                short="the treatment (7517 or SNOMED CT)",
                binding=bound("kj-ongoing-treatment"),
            ),
        ],
    )
    device = definition(
        "kj-device-use-statement",
        "KjDeviceUseStatement",
        "Critical information: implant",
        "DeviceUseStatement",
        "resource",
        [
            element(
                "DeviceUseStatement", short="An implant or transplant; the Device is contained"
            ),
            *common("DeviceUseStatement"),
            element(
                "DeviceUseStatement.contained",
                min=1,
                max="1",
                short="the implanted Device, its type from 7518 or SNOMED CT",
            ),
            element("DeviceUseStatement.device", short="a reference to the contained Device (#id)"),
        ],
    )
    flag = definition(
        "kj-flag",
        "KjFlag",
        "Critical information: other procedural change",
        "Flag",
        "resource",
        [
            element("Flag", short="A changed routine, e.g. a limit on life-prolonging treatment"),
            *common("Flag"),
            element(
                "Flag.category",
                min=1,
                max="1",
                short="7651 type 8 (limit on life-prolonging treatment) or 9 (other)",
                binding=bound("kj-procedural-change-type"),
            ),
            element(
                "Flag.code",
                short="what changed (7522 or SNOMED CT)",
                binding=bound("kj-procedural-change"),
            ),
        ],
    )
    return [allergy, condition, procedure, device, flag]


def extensions() -> list[dict[str, Any]]:
    return [
        simple_extension(
            "kj-information-source",
            "KjInformationSource",
            "Source of the information",
            "CodeableConcept",
            binding=bound("kj-information-source"),
        ),
        simple_extension("kj-valid-until", "KjValidUntil", "Valid until", "dateTime"),
        simple_extension(
            "kj-entered-in-error-reason",
            "KjEnteredInErrorReason",
            "Reason for entered in error",
            "string",
        ),
        simple_extension(
            "kj-critical-reason",
            "KjCriticalReason",
            "Why the condition is critical",
            "CodeableConcept",
            binding=bound("kj-critical-condition-reason"),
        ),
        stamp_extension("kj-registered", "KjRegistered", "Registered by"),
        stamp_extension("kj-last-updated", "KjLastUpdated", "Last updated by"),
        stamp_extension("kj-last-confirmed", "KjLastConfirmed", "Last confirmed by"),
    ]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for sd in profiles() + extensions():
        (OUT / f"{sd['id']}.json").write_text(json.dumps(sd, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {sd['id']}.json")


if __name__ == "__main__":
    main()
