"""The searches of a real FHIR client library (fhirpy) against a running server."""

from __future__ import annotations

from fhirpy import SyncFHIRClient
from fhirpy.base.searchset import Raw

from fixtures.server_process import ServerProcess

FNR = "urn:example:mrn"
LOINC = "http://loinc.org"


def test_fhirpy_searches(server: ServerProcess) -> None:
    client = SyncFHIRClient(server.base_url, authorization=f"Bearer {server.token()}")
    org = client.resource("Organization", name="Haukeland universitetssjukehus")
    org.save()
    kari = client.resource(
        "Patient",
        identifier=[{"system": FNR, "value": "15038012345"}],
        name=[{"family": "Ødegård", "given": ["Kari"]}],
        birthDate="1980-03-15",
        managingOrganization=org.to_reference(),
    )
    kari.save()
    ola = client.resource("Patient", name=[{"family": "Berg", "given": ["Ola"]}], birthDate="1975")
    ola.save()
    for day, value in ((1, 120), (2, 150), (3, 135)):
        client.resource(
            "Observation",
            status="final",
            code={"coding": [{"system": LOINC, "code": "8480-6"}]},
            subject=kari.to_reference(),
            effectiveDateTime=f"2024-03-0{day}",
            valueQuantity={"value": value, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
        ).save()

    patients = client.resources("Patient")
    assert [p.id for p in patients.search(name="odegard").fetch_all()] == [kari.id]
    assert [p.id for p in patients.search(birthdate__ge="1980-01-01").fetch_all()] == [kari.id]
    assert patients.count() == 2
    assert [p["name"][0]["family"] for p in patients.sort("family").fetch_all()] == [
        "Berg",
        "Ødegård",
    ]

    observations = client.resources("Observation")
    found = observations.search(
        subject=kari.to_reference().reference, code=f"{LOINC}|8480-6", date__ge="2024-03-02"
    ).sort("-date")
    assert [o["effectiveDateTime"] for o in found.fetch_all()] == ["2024-03-03", "2024-03-02"]
    high = observations.search(Raw(**{"value-quantity": "gt130"})).fetch_all()
    assert sorted(o["valueQuantity"]["value"] for o in high) == [135, 150]
    chained = observations.search(Raw(**{"subject:Patient.identifier": f"{FNR}|15038012345"}))
    assert len(chained.fetch_all()) == 3
    paged = observations.limit(1).fetch_all()  # follows `next` links page by page
    assert len(paged) == 3 and len({o.id for o in paged}) == 3

    on_day = observations.search(date="2024-03-01")
    with_patient = on_day.include("Observation", "subject").fetch_raw()
    modes = sorted(e["search"]["mode"] for e in with_patient["entry"])
    assert modes == ["include", "match"]
    reverse = patients.search(_id=kari.id).revinclude("Observation", "subject").fetch_raw()
    assert len(reverse["entry"]) == 4
    has = patients.has("Observation", "subject", code="8480-6").fetch_all()
    assert [p.id for p in has] == [kari.id]
    slim = patients.search(_id=kari.id).elements("birthDate").fetch_all()
    assert "name" not in slim[0] and slim[0]["birthDate"] == "1980-03-15"


def test_fhirpy_terminology_modifiers(server: ServerProcess) -> None:
    """`code:below` on the ATC hierarchy and `code:in` a bundled value set, through HTTP."""
    client = SyncFHIRClient(server.base_url, authorization=f"Bearer {server.token()}")
    patient = client.resource("Patient", name=[{"family": "Lie"}])
    patient.save()
    atc = "http://www.whocc.no/atc"
    for code in ("J01CA04", "J01CE02", "N02BE01"):
        client.resource(
            "AllergyIntolerance",
            patient=patient.to_reference(),
            code={"coding": [{"system": atc, "code": code}]},
        ).save()
    allergies = client.resources("AllergyIntolerance")
    penicillins = allergies.search(Raw(**{"code:below": f"{atc}|J01C"})).fetch_all()
    assert sorted(a["code"]["coding"][0]["code"] for a in penicillins) == ["J01CA04", "J01CE02"]
    value_set = "https://samhandling.no/fhir/ValueSet/kj-allergy-substance"
    assert len(allergies.search(Raw(**{"code:in": value_set})).fetch_all()) == 3
    assert allergies.search(Raw(**{"code:not-in": value_set})).fetch_all() == []
