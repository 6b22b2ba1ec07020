"""Index-value extraction: exact rows per parameter type, and the fast path == fhirpathpy."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samhandling.fhir.compartment import patient_compartment_ids
from samhandling.fhir.fhir_dates import MAX_DATETIME, MIN_DATETIME
from samhandling.fhir.indexing.paths import Unsupported, compile_expression
from samhandling.fhir.indexing.values import (
    CompositeValue,
    DateValue,
    IndexExtractor,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    ResourceIndex,
    StringValue,
    TokenValue,
    UriValue,
    extract_index_values,
)
from samhandling.fhir.search_parameters import SearchParameterRegistry, default_registry

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type,misc]


def rows(
    resource: dict[str, Any], param: str, registry: SearchParameterRegistry | None = None
) -> list[Any]:
    """The rows of one parameter (exact param match, so `x:of-type` is separate)."""
    return [row for row in extract_index_values(resource, registry).rows() if row.param == param]


def every_row(resource: dict[str, Any], param: str) -> list[Any]:
    """Like `rows`, derived parameters (`combo-*`, `patient`) included: the store does not
    write their rows, search reads them from their sources (tests/search/
    test_search_derived_params.py)."""
    index = IndexExtractor(default_registry(), every_parameter=True).extract(resource)
    return [row for row in index.rows() if row.param == param]


def observation(**elements: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": "o1", "status": "final", **elements}


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effective", "low", "high"),
    [
        ({"effectiveDateTime": "2024"}, utc(2023, 12, 31, 23), utc(2024, 12, 31, 23)),
        ({"effectiveDateTime": "2024-03"}, utc(2024, 2, 29, 23), utc(2024, 3, 31, 22)),
        ({"effectiveDateTime": "2024-03-01"}, utc(2024, 2, 29, 23), utc(2024, 3, 1, 23)),
        ({"effectiveDateTime": "2024-06-01"}, utc(2024, 5, 31, 22), utc(2024, 6, 1, 22)),
        (
            {"effectiveDateTime": "2024-03-01T10:15:30+01:00"},
            utc(2024, 3, 1, 9, 15, 30),
            utc(2024, 3, 1, 9, 15, 31),
        ),
        (
            {"effectiveDateTime": "2024-03-01T10:15:30-08:00"},
            utc(2024, 3, 1, 18, 15, 30),
            utc(2024, 3, 1, 18, 15, 31),
        ),
        (
            {"effectiveDateTime": "2024-03-01T10:15:30.25Z"},
            utc(2024, 3, 1, 10, 15, 30, 250000),
            utc(2024, 3, 1, 10, 15, 30, 260000),
        ),
        (
            {"effectiveInstant": "2024-03-01T10:15:30.123Z"},
            utc(2024, 3, 1, 10, 15, 30, 123000),
            utc(2024, 3, 1, 10, 15, 30, 124000),
        ),
        (
            {"effectivePeriod": {"start": "2024-03-01", "end": "2024-03-05T12:00:00Z"}},
            utc(2024, 2, 29, 23),
            utc(2024, 3, 5, 12, 0, 1),
        ),
        ({"effectivePeriod": {"start": "2024-03-01"}}, utc(2024, 2, 29, 23), MAX_DATETIME),
        ({"effectivePeriod": {"end": "2024-03"}}, MIN_DATETIME, utc(2024, 3, 31, 22)),
        (
            {
                "effectiveTiming": {
                    "event": ["2024-03-02", "2024-01-15T08:00:00Z"],
                    "repeat": {"boundsPeriod": {"start": "2024-02-01", "end": "2024-04-01"}},
                }
            },
            utc(2024, 1, 15, 8),
            utc(2024, 4, 1, 22),
        ),
        (
            {"effectiveTiming": {"repeat": {"boundsPeriod": {"start": "2024-02-01"}}}},
            utc(2024, 1, 31, 23),
            MAX_DATETIME,
        ),
    ],
)
def test_dates(effective: dict[str, Any], low: datetime, high: datetime) -> None:
    assert rows(observation(**effective), "date") == [DateValue("date", low, high)]


@pytest.mark.parametrize(
    "effective",
    [
        {"effectiveDateTime": "01.03.2024"},
        {"effectivePeriod": {}},
        {"effectivePeriod": {"extension": [{"url": "x", "valueString": "y"}]}},
        {"effectiveTiming": {"code": {"text": "BID"}}},
    ],
)
def test_unindexable_dates_are_skipped(effective: dict[str, Any]) -> None:
    assert rows(observation(**effective), "date") == []


def test_date_parameters_of_a_patient() -> None:
    patient = {"resourceType": "Patient", "birthDate": "1985-05-17", "deceasedDateTime": "2024"}
    assert rows(patient, "birthdate") == [
        DateValue("birthdate", utc(1985, 5, 16, 22), utc(1985, 5, 17, 22))
    ]
    assert rows(patient, "death-date") == [
        DateValue("death-date", utc(2023, 12, 31, 23), utc(2024, 12, 31, 23))
    ]
    assert rows(patient, "deceased") == [TokenValue("deceased", None, "true", None)]
    alive = {"resourceType": "Patient", "deceasedBoolean": False}
    assert rows(alive, "deceased") == [TokenValue("deceased", None, "false", None)]


# --- numbers and quantities --------------------------------------------------------------


@pytest.mark.parametrize(
    ("probability", "value", "low", "high"),
    [
        (100, "100", "99.5", "100.5"),
        (0.25, "0.25", "0.245", "0.255"),
        (100.0, "100.0", "99.95", "100.05"),
        (Decimal("100.00"), "100.00", "99.995", "100.005"),
        (Decimal("1E+2"), "1E+2", "50", "150"),
        (-3, "-3", "-3.5", "-2.5"),
        (0, "0", "-0.5", "0.5"),
        (1e-7, "1E-7", "0.5E-7", "1.5E-7"),
    ],
)
def test_numbers_have_their_precision_range(
    probability: Any, value: str, low: str, high: str
) -> None:
    assessment = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "prediction": [{"probabilityDecimal": probability}, {"probabilityRange": {}}],
    }
    [row] = rows(assessment, "probability")
    assert row == NumberValue("probability", Decimal(value), Decimal(low), Decimal(high))
    assert row.low < row.value < row.high


def test_quantity() -> None:
    value = {"value": 5.4, "unit": "mmol/l", "system": UCUM, "code": "mmol/L", "comparator": "<"}
    assert rows(observation(valueQuantity=value), "value-quantity") == [
        QuantityValue(
            "value-quantity",
            Decimal("5.4"),
            Decimal("5.35"),
            Decimal("5.45"),
            UCUM,
            "mmol/L",
            "mmol/l",
        )
    ]
    assert rows(observation(valueQuantity={"unit": "mg"}), "value-quantity") == []


def test_money_range_and_age() -> None:
    charge = {"resourceType": "ChargeItem", "priceOverride": {"value": 120, "currency": "NOK"}}
    assert rows(charge, "price-override") == [
        QuantityValue(
            "price-override",
            Decimal(120),
            Decimal("119.5"),
            Decimal("120.5"),
            "urn:iso:std:iso:4217",
            "NOK",
            None,
        )
    ]
    age = {"value": 40, "unit": "a", "system": UCUM, "code": "a"}
    condition = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "onsetAge": age,
    }
    assert rows(condition, "onset-age") == [
        QuantityValue("onset-age", Decimal(40), Decimal("39.5"), Decimal("40.5"), UCUM, "a", "a")
    ]
    value_set = {
        "resourceType": "ValueSet",
        "status": "active",
        "useContext": [
            {
                "code": {"code": "age"},
                "valueRange": {"low": {"value": 18, "system": UCUM, "code": "a", "unit": "yr"}},
            },
            {"code": {"code": "age"}, "valueRange": {"low": {"value": 1.5}, "high": {"value": 12}}},
        ],
    }
    assert rows(value_set, "context-quantity") == [
        QuantityValue("context-quantity", None, Decimal("17.5"), None, UCUM, "a", "yr"),
        QuantityValue("context-quantity", None, Decimal("1.45"), Decimal("12.5"), None, None, None),
    ]


# --- strings -----------------------------------------------------------------------------


def test_human_name_and_address_parts() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [
            {
                "use": "official",
                "text": "Dr. Kari Nordmann Ødegård jr.",
                "family": "Ødegård",
                "given": ["Kari", "Nordmann"],
                "prefix": ["Dr."],
                "suffix": ["jr."],
            }
        ],
        "address": [
            {
                "use": "home",
                "text": "Storgata 1, 0155 Oslo",
                "line": ["Storgata 1", "Oppgang B"],
                "city": "Oslo",
                "district": "Gamle Oslo",
                "state": "Oslo",
                "postalCode": "0155",
                "country": "NO",
            }
        ],
    }
    assert [(r.normalized, r.exact) for r in rows(patient, "name")] == [
        ("odegard", "Ødegård"),
        ("kari", "Kari"),
        ("nordmann", "Nordmann"),
        ("dr.", "Dr."),
        ("jr.", "jr."),
        ("dr. kari nordmann odegard jr.", "Dr. Kari Nordmann Ødegård jr."),
    ]
    assert rows(patient, "family") == [StringValue("family", "odegard", "Ødegård")]
    assert [r.exact for r in rows(patient, "given")] == ["Kari", "Nordmann"]
    assert [r.exact for r in rows(patient, "address")] == [
        "Storgata 1",
        "Oppgang B",
        "Oslo",
        "Gamle Oslo",
        "0155",
        "NO",
        "Storgata 1, 0155 Oslo",
    ]
    assert rows(patient, "address-city") == [StringValue("address-city", "oslo", "Oslo")]
    assert rows(patient, "address-postalcode") == [
        StringValue("address-postalcode", "0155", "0155")
    ]
    assert rows(patient, "address-use") == [
        TokenValue("address-use", "http://hl7.org/fhir/address-use", "home", None)
    ]


# --- tokens ------------------------------------------------------------------------------


def test_codeable_concept_tokens_and_text() -> None:
    code = {
        "coding": [
            {"system": LOINC, "code": "8867-4", "display": "Heart rate"},
            {"system": SNOMED, "code": "364075005"},
        ],
        "text": "Puls (hjertefrekvens)",
    }
    assert rows(observation(code=code), "code") == [
        TokenValue("code", LOINC, "8867-4", "heart rate"),
        TokenValue("code", SNOMED, "364075005", None),
        TokenValue("code", None, None, "puls (hjertefrekvens)"),
    ]


def test_identifier_tokens_and_of_type() -> None:
    identifier = {
        "use": "official",
        "type": {"coding": [{"system": V2_0203, "code": "NNNOR"}], "text": "Fødselsnummer"},
        "system": FNR,
        "value": "13116900216",
    }
    patient = {"resourceType": "Patient", "identifier": [identifier, {"system": "urn:x"}]}
    assert rows(patient, "identifier") == [
        TokenValue("identifier", FNR, "13116900216", "fodselsnummer"),
        TokenValue("identifier", "urn:x", None, None),
    ]
    assert rows(patient, "identifier:of-type") == [
        TokenValue("identifier:of-type", V2_0203, "NNNOR|13116900216", None)
    ]


def test_contact_point_boolean_code_and_coding_tokens() -> None:
    patient = {
        "resourceType": "Patient",
        "active": True,
        "gender": "female",
        "telecom": [
            {"system": "phone", "value": "+47 22 00 00 00", "use": "mobile"},
            {"system": "email", "value": "kari@example.no"},
            {"use": "home"},
        ],
        "meta": {
            "tag": [{"system": "urn:tags", "code": "test", "display": "Test data"}],
            "security": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
            ],
            "profile": ["http://hl7.no/fhir/StructureDefinition/no-basis-Patient|2.0.10"],
            "source": "urn:samhandling:test",
            "lastUpdated": "2024-03-01T10:00:00Z",
            "versionId": "3",
        },
        "id": "p1",
    }
    assert rows(patient, "active") == [TokenValue("active", None, "true", None)]
    assert rows(patient, "gender") == [
        TokenValue("gender", "http://hl7.org/fhir/administrative-gender", "female", None)
    ]
    assert rows(patient, "telecom") == [
        TokenValue("telecom", None, "+47 22 00 00 00", None),
        TokenValue("telecom", None, "kari@example.no", None),
    ]
    assert rows(patient, "phone") == [TokenValue("phone", None, "+47 22 00 00 00", None)]
    assert rows(patient, "email") == [TokenValue("email", None, "kari@example.no", None)]
    assert rows(patient, "_tag") == [TokenValue("_tag", "urn:tags", "test", "test data")]
    assert rows(patient, "_security") == [
        TokenValue(
            "_security", "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R", None
        )
    ]
    assert rows(patient, "_profile") == [
        UriValue("_profile", "http://hl7.no/fhir/StructureDefinition/no-basis-Patient|2.0.10")
    ]
    assert rows(patient, "_source") == [UriValue("_source", "urn:samhandling:test")]
    # the store writes these itself
    assert rows(patient, "_id") == [] and rows(patient, "_lastUpdated") == []


def test_duplicate_values_give_one_row() -> None:
    coding = {"system": LOINC, "code": "8867-4"}
    resource = observation(category=[{"coding": [coding]}, {"coding": [dict(coding)]}])
    assert rows(resource, "category") == [TokenValue("category", LOINC, "8867-4", None)]


# --- references ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/p1", ReferenceValue("subject", "Patient", "p1", None, None)),
        ("Patient/p1/_history/4", ReferenceValue("subject", "Patient", "p1", "4", None)),
        (
            "https://fhir.example.no/r4/Patient/p1",
            ReferenceValue(
                "subject", "Patient", "p1", None, "https://fhir.example.no/r4/Patient/p1"
            ),
        ),
        (
            "https://fhir.example.no/r4/Patient/p1/_history/2",
            ReferenceValue(
                "subject", "Patient", "p1", "2", "https://fhir.example.no/r4/Patient/p1"
            ),
        ),
        (
            "https://fhir.example.no/people/p1",
            ReferenceValue("subject", None, None, None, "https://fhir.example.no/people/p1"),
        ),
        (
            "urn:uuid:8a4c9c04-1524-9f1c-d65b-9b17e4520fef",
            ReferenceValue(
                "subject", None, None, None, "urn:uuid:8a4c9c04-1524-9f1c-d65b-9b17e4520fef"
            ),
        ),
        ("NoSuchType/1", ReferenceValue("subject", None, None, None, "NoSuchType/1")),
    ],
)
def test_reference_forms(reference: str, expected: ReferenceValue) -> None:
    assert rows(observation(subject={"reference": reference}), "subject") == [expected]


def test_identifier_references_and_contained_references() -> None:
    resource = observation(
        subject={"identifier": {"system": FNR, "value": "13116900216"}, "type": "Patient"},
        performer=[
            {"reference": "#pract"},
            {
                "reference": "Practitioner/pr1",
                "identifier": {"system": "urn:oid:hpr", "value": "9"},
            },
        ],
        contained=[{"resourceType": "Practitioner", "id": "pract"}],
    )
    assert rows(resource, "subject") == []
    assert rows(resource, "subject:identifier") == [
        TokenValue("subject:identifier", FNR, "13116900216", None)
    ]
    # `patient` is subject.where(resolve() is Patient): Reference.type decides here
    assert rows(resource, "patient:identifier") == [
        TokenValue("patient:identifier", FNR, "13116900216", None)
    ]
    assert rows(resource, "performer") == [
        ReferenceValue("performer", "Practitioner", "pr1", None, None)
    ]
    assert rows(resource, "performer:identifier") == [
        TokenValue("performer:identifier", "urn:oid:hpr", "9", None)
    ]


def test_resolve_is_read_from_the_reference() -> None:
    for subject, patient_rows in [
        ("Patient/p1", [ReferenceValue("patient", "Patient", "p1", None, None)]),
        ("Group/g1", []),
        (
            "https://x.no/fhir/Patient/p9",
            [ReferenceValue("patient", "Patient", "p9", None, "https://x.no/fhir/Patient/p9")],
        ),
    ]:
        assert every_row(observation(subject={"reference": subject}), "patient") == patient_rows


def test_canonical_references() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "https://skjema.example.no/Questionnaire/phq9|2.1",
    }
    assert rows(response, "questionnaire") == [
        ReferenceValue(
            "questionnaire",
            "Questionnaire",
            "phq9",
            "2.1",
            "https://skjema.example.no/Questionnaire/phq9",
        )
    ]
    response["questionnaire"] = "http://loinc.org/q/44249-1"
    assert rows(response, "questionnaire") == [
        ReferenceValue("questionnaire", None, None, None, "http://loinc.org/q/44249-1")
    ]


def test_bundle_composition_reference() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3151bd"},
        "entry": [
            {"resource": {"resourceType": "Composition", "id": "c1"}},
            {"resource": {"resourceType": "Patient", "id": "p1"}},
        ],
    }
    assert rows(bundle, "composition") == [
        ReferenceValue("composition", "Composition", "c1", None, None)
    ]
    assert rows(bundle, "type") == [
        TokenValue("type", "http://hl7.org/fhir/bundle-type", "document", None)
    ]
    assert rows(bundle, "identifier") == [
        TokenValue("identifier", "urn:ietf:rfc:3986", "urn:uuid:0c3151bd", None)
    ]


# --- composites ------------------------------------------------------------------------------


def quantity_value(param: str, value: int) -> QuantityValue:
    return QuantityValue(
        param,
        Decimal(value),
        Decimal(value) - Decimal("0.5"),
        Decimal(value) + Decimal("0.5"),
        UCUM,
        "mm[Hg]",
        "mmHg",
    )


def blood_pressure() -> dict[str, Any]:
    def component(code: str, value: int) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        }

    return observation(
        code={"coding": [{"system": LOINC, "code": "85354-9"}], "text": "Blodtrykk"},
        component=[component("8480-6", 120), component("8462-4", 80)],
    )


def test_component_composite_pairs_values_of_the_same_component() -> None:
    resource = blood_pressure()
    assert rows(resource, "component-code-value-quantity") == [
        CompositeValue(
            "component-code-value-quantity",
            (
                TokenValue("component-code", LOINC, "8480-6", None),
                quantity_value("component-value-quantity", 120),
            ),
        ),
        CompositeValue(
            "component-code-value-quantity",
            (
                TokenValue("component-code", LOINC, "8462-4", None),
                quantity_value("component-value-quantity", 80),
            ),
        ),
    ]
    # a panel without a value of its own has no code-value-quantity
    assert rows(resource, "code-value-quantity") == []
    assert len(every_row(resource, "combo-code-value-quantity")) == 2
    assert rows(resource, "combo-code-value-quantity") == []  # answered from the two above


def test_code_value_quantity_per_coding() -> None:
    resource = observation(
        code={
            "coding": [{"system": LOINC, "code": "8310-5"}, {"system": SNOMED, "code": "276885007"}]
        },
        valueQuantity={"value": 37, "unit": "Cel", "system": UCUM, "code": "Cel"},
    )
    temperature = QuantityValue(
        "value-quantity", Decimal(37), Decimal("36.5"), Decimal("37.5"), UCUM, "Cel", "Cel"
    )
    assert rows(resource, "code-value-quantity") == [
        CompositeValue(
            "code-value-quantity", (TokenValue("code", LOINC, "8310-5", None), temperature)
        ),
        CompositeValue(
            "code-value-quantity", (TokenValue("code", SNOMED, "276885007", None), temperature)
        ),
    ]
    combo = every_row(resource, "combo-code-value-quantity")
    assert [c.components[0].code for c in combo] == ["8310-5", "276885007"]
    assert all(c.components[1].param == "combo-value-quantity" for c in combo)


def test_code_value_concept_and_date() -> None:
    resource = observation(
        code={"coding": [{"system": LOINC, "code": "74165-2"}]},
        valueCodeableConcept={"coding": [{"system": SNOMED, "code": "260385009"}], "text": "Nei"},
    )
    assert rows(resource, "code-value-concept") == [
        CompositeValue(
            "code-value-concept",
            (
                TokenValue("code", LOINC, "74165-2", None),
                TokenValue("value-concept", SNOMED, "260385009", None),
            ),
        )
    ]
    dated = observation(code={"coding": [{"code": "x"}]}, valuePeriod={"start": "2024"})
    assert rows(dated, "code-value-date") == [
        CompositeValue(
            "code-value-date",
            (
                TokenValue("code", None, "x", None),
                DateValue("value-date", utc(2023, 12, 31, 23), MAX_DATETIME),
            ),
        )
    ]


def test_document_reference_relationship() -> None:
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "relatesTo": [{"code": "replaces", "target": {"reference": "DocumentReference/d0"}}],
    }
    assert rows(document, "relationship") == [
        CompositeValue(
            "relationship",
            (
                ReferenceValue("relatesto", "DocumentReference", "d0", None, None),
                TokenValue(
                    "relation", "http://hl7.org/fhir/document-relationship-type", "replaces", None
                ),
            ),
        )
    ]


def test_composite_reading_percent_resource() -> None:
    sequence = {
        "resourceType": "MolecularSequence",
        "coordinateSystem": 0,
        "referenceSeq": {"chromosome": {"coding": [{"system": "http://x/chr", "code": "1"}]}},
        "variant": [{"start": 22125500, "end": 22125510}],
    }
    [composite] = rows(sequence, "chromosome-variant-coordinate")
    assert composite.components == (
        TokenValue("chromosome", "http://x/chr", "1", None),
        NumberValue(
            "variant-start", Decimal(22125500), Decimal("22125499.5"), Decimal("22125500.5")
        ),
        NumberValue("variant-end", Decimal(22125510), Decimal("22125509.5"), Decimal("22125510.5")),
    )


# --- what is not extracted, custom parameters, errors --------------------------------------


def test_special_and_expressionless_parameters_are_not_indexed() -> None:
    location = {
        "resourceType": "Location",
        "id": "l1",
        "name": "Ullevål",
        "position": {"latitude": 59.93, "longitude": 10.73},
        "text": {"status": "generated", "div": "<div>x</div>"},
    }
    index = extract_index_values(location)
    assert index.params() == {"name"}
    assert index.strings == (StringValue("name", "ulleval", "Ullevål"),)


def test_custom_parameters_with_extensions(shared_data: Path) -> None:
    registry = SearchParameterRegistry.official()
    [middlename] = (shared_data / "no-basis/json/SearchParameter").glob("*.json")
    registry.add(json.loads(middlename.read_text()))
    registry.add(
        {
            "resourceType": "SearchParameter",
            "url": "https://samhandling.example/SearchParameter/patient-municipality",
            "code": "municipality",
            "base": ["Patient"],
            "type": "token",
            "expression": "Patient.address.district.extension("
            "'http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode').value",
        }
    )
    registry.add(
        {
            "resourceType": "SearchParameter",
            "url": "https://samhandling.example/SearchParameter/patient-birth-time",
            "code": "birth-time",
            "base": ["Patient"],
            "type": "date",
            "expression": "Patient.birthDate.extension("
            "'http://hl7.org/fhir/StructureDefinition/patient-birthTime').value",
        }
    )
    examples = shared_data / "no-basis/json/Examples"
    soreng = json.loads((examples / "no-basis-Patient-Jannice-Soreng.json").read_text())
    municipality = soreng["address"][0]["_district"]["extension"][0]["valueCoding"]
    assert municipality["code"] == "0301"  # Oslo
    assert rows(soreng, "municipality", registry) == [
        TokenValue("municipality", municipality["system"], "0301", None)
    ]
    assert rows(soreng, "middlename", registry) == []
    soreng["name"][0]["extension"] = [
        {"url": "http://hl7.no/fhir/StructureDefinition/no-basis-middlename", "valueString": "Åsen"}
    ]
    assert rows(soreng, "middlename", registry) == [StringValue("middlename", "asen", "Åsen")]
    assert rows(soreng, "family", registry) == [StringValue("family", "soreng", "Søreng")]
    patient = {
        "resourceType": "Patient",
        "birthDate": "2024-03-01",
        "_birthDate": {
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                    "valueDateTime": "2024-03-01T06:13:00+01:00",
                }
            ]
        },
    }
    assert rows(patient, "birth-time", registry) == [
        DateValue("birth-time", utc(2024, 3, 1, 5, 13), utc(2024, 3, 1, 5, 13, 1))
    ]
    assert rows(patient, "birth-time") == []  # not in the default registry


def test_unknown_resource_types_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown resource type"):
        extract_index_values({"resourceType": "SubscriptionStatus"})
    with pytest.raises(ValueError, match="unknown resource type"):
        extract_index_values({"id": "x"})


def test_resource_index_shape() -> None:
    index = extract_index_values(blood_pressure())
    assert isinstance(index, ResourceIndex) and index.resource_type == "Observation"
    assert all(isinstance(row, TokenValue) for row in index.tokens)
    assert all(isinstance(row, CompositeValue) for row in index.composites)
    assert len(list(index.rows())) == sum(
        len(group)
        for group in (
            index.tokens,
            index.strings,
            index.dates,
            index.numbers,
            index.quantities,
            index.references,
            index.uris,
            index.composites,
        )
    )


def test_all_official_expressions_take_the_fast_path() -> None:
    slow = set()
    # a registry of its own: the process-wide one holds whatever custom parameters other
    # tests in this worker registered (an expression of theirs may rightly be slow)
    for parameter in SearchParameterRegistry.official():
        for base in parameter.base:
            expressions = [parameter.expression or "", *(e for _, e in parameter.components)]
            for expression in filter(None, expressions):
                try:
                    compile_expression(expression, base if base[0].isupper() else None)
                except Unsupported:
                    slow.add(parameter.id)
    assert slow == set()


# --- real data: no errors, and the fast path equals fhirpathpy ------------------------------


def _data_root() -> Path | None:
    root = Path(os.environ.get("SAMHANDLING_SHARED_DATA", "/work/shared/data"))
    return root if root.is_dir() else None


def _example_files(root: Path) -> list[Path]:
    return (
        sorted((root / "fhir-test-cases/r4/examples").glob("*.json"))
        + sorted((root / "ips").glob("Bundle-*.json"))
        + sorted((root / "ips/examples").glob("*.json"))
        + sorted((root / "no-basis/json").rglob("*.json"))
    )


def _synthea_files(root: Path) -> list[Path]:
    return sorted((root / "synthea").glob("*.json.bz2"))


EQUIVALENCE_BUNDLES = 8  # the two information bundles and six patients


def _equivalence_files(root: Path) -> list[Path]:
    files = _synthea_files(root)
    info = [p for p in files if p.name.startswith("0-")]
    patients = [p for p in files if not p.name.startswith("0-")]
    return (
        info
        + patients[:: len(patients) // (EQUIVALENCE_BUNDLES - len(info))][
            : EQUIVALENCE_BUNDLES - len(info)
        ]
    )


_DATA: dict[str, Callable[[Path], list[Path]]] = {
    "example_path": _example_files,
    "synthea_path": _synthea_files,
    "equivalence_path": _equivalence_files,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for argument, finder in _DATA.items():
        if argument in metafunc.fixturenames:
            root = _data_root()
            if root is None:
                skip = pytest.mark.skip(reason="shared data directory is absent")
                metafunc.parametrize(argument, [pytest.param(None, marks=skip)])
                continue
            paths = finder(root)
            assert paths, f"no data for {argument} in {root}"
            metafunc.parametrize(argument, paths, ids=[p.name for p in paths])


def _example_resources(path: Path) -> list[dict[str, Any]]:
    resource = json.loads(path.read_text())
    found = [resource]
    if resource.get("resourceType") == "Bundle":
        found += [e["resource"] for e in resource.get("entry", []) if "resource" in e]
    return [r for r in found if r.get("resourceType") in default_registry().resource_types]


@pytest.fixture(scope="module")
def oracle() -> IndexExtractor:
    """Every expression evaluated by fhirpathpy, for every resource: the reference."""
    return IndexExtractor(default_registry(), fast_path=False)


def assert_same_rows(resource: dict[str, Any], oracle: IndexExtractor) -> None:
    fast = extract_index_values(resource)
    reference = oracle.extract(resource)
    for kind in ResourceIndex.__dataclass_fields__:
        assert set(getattr(fast, kind) or ()) == set(getattr(reference, kind) or ()), (
            f"{resource['resourceType']}/{resource.get('id')} {kind}"
        )


def test_examples_extract_and_equal_fhirpathpy(example_path: Path, oracle: IndexExtractor) -> None:
    resources = _example_resources(example_path)
    for resource in resources:
        assert_same_rows(resource, oracle)


def test_synthea_bundles_extract(
    synthea_path: Path, synthea_resources: Callable[[Path], list[dict[str, Any]]]
) -> None:
    for resource in synthea_resources(synthea_path):
        index = extract_index_values(resource)
        kind = resource["resourceType"]
        if kind == "Observation":
            assert any(row.param == "code" for row in index.tokens)
            assert any(
                row.param == "subject" and row.target_type == "Patient" for row in index.references
            )
            assert not any(row.param in ("patient", "combo-code") for row in index.rows())
        elif kind == "Patient":
            assert {"family", "given", "name", "address"} <= {row.param for row in index.strings}


def test_synthea_fast_path_equals_fhirpathpy(
    equivalence_path: Path,
    synthea_resources: Callable[[Path], list[dict[str, Any]]],
    oracle: IndexExtractor,
) -> None:
    for resource in synthea_resources(equivalence_path):
        assert_same_rows(resource, oracle)


# --- robustness ----------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "value",
                    "system",
                    "code",
                    "coding",
                    "text",
                    "reference",
                    "start",
                    "end",
                    "family",
                    "given",
                    "line",
                    "low",
                    "high",
                    "event",
                    "repeat",
                    "identifier",
                    "type",
                    "extension",
                    "url",
                    "valueString",
                    "display",
                    "currency",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    resource_type=st.sampled_from(["Observation", "Patient", "Encounter", "DocumentReference"]),
    elements=st.dictionaries(
        st.sampled_from(
            [
                "code",
                "subject",
                "effectiveDateTime",
                "effectivePeriod",
                "valueQuantity",
                "component",
                "name",
                "address",
                "identifier",
                "telecom",
                "birthDate",
                "meta",
                "relatesTo",
                "period",
                "participant",
                "deceasedBoolean",
                "category",
                "performer",
            ]
        ),
        _JSON,
        max_size=6,
    ),
)
def test_malformed_resources_do_not_break_extraction(
    resource_type: str, elements: dict[str, Any]
) -> None:
    """Validation is not the indexer's job: odd values are skipped, never an exception."""
    resource = {"resourceType": resource_type, **elements}
    index = extract_index_values(resource)
    assert all(row.param for row in index.rows())
    patient_compartment_ids(resource, index)
