"""The de-identification of one resource (services/bulk_export/deidentify.py)."""

from __future__ import annotations

from samhandling.services.bulk_export.deidentify import Pseudonyms, deidentify, shift_date

KEY = Pseudonyms(b"k" * 32)


def test_dates_keep_their_precision_time_and_zone() -> None:
    assert shift_date("2024-03-01", -1) == "2024-02-29"
    assert shift_date("2024-03-01T10:15:00+01:00", 31) == "2024-04-01T10:15:00+01:00"
    assert shift_date("2024-03", 40) == "2024-04"
    assert shift_date("2024", 40) == "2024"  # a year carries no exact date
    assert shift_date("8867-4", 40) == "8867-4"


def test_a_patient_loses_identifiers_names_and_free_text() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"versionId": "3", "lastUpdated": "2024-01-01T00:00:00Z", "source": "x"},
        "text": {"status": "generated", "div": "<div>Kari Nordmann</div>"},
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "13097248022"}],
        "name": [{"family": "Nordmann", "given": ["Kari"]}],
        "telecom": [{"system": "phone", "value": "99999999"}],
        "address": [{"city": "Fjordbyen"}],
        "birthDate": "1972-09-13",
        "deceasedDateTime": "2020-05-05",
        "gender": "female",
        "generalPractitioner": [{"reference": "Practitioner/gp1", "display": "Dr. Lege"}],
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
                "valueString": "Hansen",
            },
            {"url": "http://example.org/sex", "valueCode": "F"},
        ],
    }
    out = deidentify(patient, "p1", KEY)
    assert set(out) == {
        "resourceType",
        "id",
        "meta",
        "birthDate",
        "deceasedDateTime",
        "gender",
        "generalPractitioner",
        "extension",
    }
    assert out["id"] == KEY.pseudonym("Patient", "p1") != "p1"
    assert out["birthDate"] == "1972"
    assert out["deceasedDateTime"] != "2020-05-05"
    assert out["generalPractitioner"] == [
        {"reference": f"Practitioner/{KEY.pseudonym('Practitioner', 'gp1')}"}
    ]
    assert out["extension"] == [{"url": "http://example.org/sex", "valueCode": "F"}]
    assert out["meta"]["security"][-1]["code"] == "PSEUDED" and "source" not in out["meta"]


def test_one_patient_one_shift_and_attachments_without_content() -> None:
    shift = KEY.day_shift("p1")
    assert shift == KEY.day_shift("p1") and 1 <= abs(shift) <= 180
    assert KEY.day_shift(None) == 0 and "kkkk" not in repr(KEY)
    document = {
        "resourceType": "DocumentReference",
        "id": "d1",
        "subject": {"reference": "http://server/fhir/Patient/p1"},
        "date": "2024-06-01T12:00:00Z",
        "description": "Epikrise for Kari Nordmann",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": "Binary/b1",
                    "data": "JVBERi0=",
                    "title": "Kari.pdf",
                }
            }
        ],
        "note": [{"text": "ring Kari"}],
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary"}
            ]
        },
    }
    out = deidentify(document, "p1", KEY)
    assert out["content"] == [{"attachment": {"contentType": "application/pdf"}}]
    assert out["subject"] == {"reference": f"Patient/{KEY.pseudonym('Patient', 'p1')}"}
    assert out["date"] == shift_date("2024-06-01T12:00:00Z", shift)
    assert "note" not in out and "description" not in out
    assert out["code"]["coding"][0]["display"] == "Discharge summary"


def test_people_inside_a_bundle_or_contained_lose_their_names_too() -> None:
    bundle = {
        "resourceType": "Bundle",
        "id": "b1",
        "type": "document",
        "entry": [
            {
                "fullUrl": "http://server/fhir/Patient/p1",
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "name": [{"family": "Nordmann"}],
                    "birthDate": "1972-09-13",
                },
            }
        ],
        "contained": [{"resourceType": "RelatedPerson", "id": "mor", "name": [{"text": "Mor"}]}],
    }
    out = deidentify(bundle, "p1", KEY)
    entry = out["entry"][0]
    pseudonym = KEY.pseudonym("Patient", "p1")
    assert entry["fullUrl"] == f"Patient/{pseudonym}"
    assert entry["resource"] == {"resourceType": "Patient", "id": pseudonym, "birthDate": "1972"}
    assert out["contained"] == [{"resourceType": "RelatedPerson", "id": "mor"}]
