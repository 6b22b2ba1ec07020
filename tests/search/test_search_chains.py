"""Chaining, reverse chaining (_has), _include and _revinclude."""

from __future__ import annotations

from searchkit import SearchStore

NPI = "http://hl7.org/fhir/sid/us-npi"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"


def world(store: SearchStore) -> None:
    store.put(
        {
            "resourceType": "Organization",
            "id": "org1",
            "name": "Haukeland",
            "identifier": [{"system": "urn:org", "value": "974557746"}],
        },
        {"resourceType": "Organization", "id": "org2", "name": "Ullevål"},
        {
            "resourceType": "Practitioner",
            "id": "dr1",
            "identifier": [{"system": NPI, "value": "9"}],
            "name": [{"family": "Lege"}],
        },
        {
            "resourceType": "Patient",
            "id": "p1",
            "identifier": [{"system": FNR, "value": "111"}],
            "managingOrganization": {"reference": "Organization/org1"},
            "generalPractitioner": [{"reference": "Practitioner/dr1"}],
            "name": [{"family": "Hansen"}],
        },
        {
            "resourceType": "Patient",
            "id": "p2",
            "identifier": [{"system": FNR, "value": "222"}],
            "managingOrganization": {"reference": "Organization/org2"},
            "name": [{"family": "Berg"}],
        },
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "code": {"coding": [{"code": "a"}]},
            "subject": {"reference": "Patient/p1"},
            "performer": [{"reference": "Practitioner/dr1"}],
        },
        {
            "resourceType": "Observation",
            "id": "o2",
            "status": "final",
            "code": {"coding": [{"code": "b"}]},
            "subject": {"reference": "Patient/p2"},
        },
        {
            "resourceType": "Observation",
            "id": "grp",
            "status": "final",
            "code": {"coding": [{"code": "a"}]},
            "subject": {"reference": "Group/p1"},
        },
        {
            "resourceType": "Provenance",
            "id": "prov",
            "target": [{"reference": "Observation/o1"}],
            "recorded": "2024-01-01T00:00:00Z",
            "agent": [{"who": {"reference": "Practitioner/dr1"}}],
        },
    )


def test_chain_one_level(store: SearchStore) -> None:
    world(store)
    assert store.found("Observation", f"subject:Patient.identifier={FNR}|111") == {"o1"}
    assert store.found("Observation", "subject.name=hansen") == {"o1"}
    assert store.found("Observation", "patient.identifier=222") == {"o2"}


def test_chain_several_levels(store: SearchStore) -> None:
    world(store)
    assert store.found("Observation", "subject:Patient.organization.name=hauke") == {"o1"}
    assert store.found("Observation", "subject:Patient.organization.identifier=974557746") == {"o1"}
    assert store.found("Observation", "subject:Patient.general-practitioner.identifier=9") == {"o1"}


def test_chain_with_or_values_and_and(store: SearchStore) -> None:
    world(store)
    assert store.found("Observation", "subject:Patient.name=hansen,berg") == {"o1", "o2"}
    assert store.found("Observation", "subject:Patient.name=hansen&code=b") == set()


def test_reverse_chain(store: SearchStore) -> None:
    world(store)
    assert store.found("Patient", "_has:Observation:patient:code=a") == {"p1"}
    assert store.found("Patient", "_has:Observation:patient:code=a,b") == {"p1", "p2"}
    assert store.found(
        "Practitioner", "_has:Observation:performer:_has:Provenance:target:recorded=2024"
    ) == {"dr1"}
    assert store.found(
        "Organization", "_has:Patient:organization:_has:Observation:patient:code=b"
    ) == {"org2"}


def modes(bundle: dict) -> dict[str, str]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}": e["search"]["mode"]
        for e in bundle["entry"]
    }


def test_include_and_revinclude(store: SearchStore) -> None:
    world(store)
    bundle = store.bundle("Observation", "code=a&_include=Observation:subject:Patient")
    assert modes(bundle) == {
        "Observation/o1": "match",
        "Observation/grp": "match",
        "Patient/p1": "include",
    }
    assert bundle["total"] == 2
    bundle = store.bundle("Patient", "_id=p1&_revinclude=Observation:subject")
    assert modes(bundle) == {"Patient/p1": "match", "Observation/o1": "include"}


def test_include_iterate_and_wildcards(store: SearchStore) -> None:
    world(store)
    plain = store.bundle(
        "Observation", "_id=o1&_include=Observation:subject&_include=Patient:organization"
    )
    assert "Organization/org1" not in modes(plain)
    iterated = store.bundle(
        "Observation", "_id=o1&_include=Observation:subject&_include:iterate=Patient:organization"
    )
    assert modes(iterated)["Organization/org1"] == "include"
    everything = modes(store.bundle("Observation", "_id=o1&_include=*"))
    assert {"Patient/p1", "Practitioner/dr1"} <= set(everything)
    reverse = modes(store.bundle("Observation", "_id=o1&_revinclude=*"))
    assert reverse["Provenance/prov"] == "include"
    deep = modes(
        store.bundle(
            "Patient",
            "_id=p1&_revinclude=Observation:subject&_revinclude:iterate=Provenance:target",
        )
    )
    assert deep["Provenance/prov"] == "include"
