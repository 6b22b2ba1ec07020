"""The write guard through the API: based on the current version, every entry accounted for."""

from __future__ import annotations

from medlistkit import read_list, resources, save, statement, uuid_of, version, with_reason

from fixtures.critical_information import World

CONTAINED_LIST = "current-list"


def test_the_first_list_is_created_from_version_0(world: World) -> None:
    entry = statement()
    created = save(world, "gp", 0, [entry])
    assert created.status_code == 201, created.text
    assert version(created) == 1
    listing = created.json()
    assert listing["status"] == "current"
    assert (
        listing["entry"][0]["item"]["reference"]
        == f"MedicationStatement/{uuid_of(entry)}/_history/1"
    )
    changed = {e["url"]: e for e in listing["extension"]}
    who = {p["url"]: p for p in changed[KJ + "pll-changed"]["extension"]}
    assert who["practitioner"]["valueIdentifier"]["value"] == "9100001"
    assert who["organization"]["valueIdentifier"]["value"] == "991000011"
    assert who["system"]["valueString"] == "Fjordbyen EPJ"


def test_a_stale_save_is_refused_naming_the_entry_added_since(world: World) -> None:
    simvastatin = statement()
    assert save(world, "gp", 0, [simvastatin]).status_code == 201
    metformin = statement("A10BA02", "Metformin 500 mg")
    added = save(world, "hospital-physician", 1, [simvastatin, metformin])
    assert added.status_code == 200, added.text
    # the GP still holds version 1 and changes the dose
    changed = with_reason(simvastatin, "Økt dose", dosage=[{"text": "2 tabletter"}])
    stale = save(world, "gp", 1, [changed])
    assert stale.status_code == 412, stale.text
    outcome = stale.json()
    messages = [i["diagnostics"] for i in outcome["issue"]]
    assert len(messages) == 1
    assert "Metformin 500 mg" in messages[0] and "added since version 1" in messages[0]
    assert stale.headers["ETag"] == 'W/"2"'
    contained = {c["id"]: c for c in outcome["contained"]}
    assert len(contained[CONTAINED_LIST]["entry"]) == 2
    assert f"entry-{uuid_of(metformin)}" in contained
    # after re-reading, the GP's save succeeds (and keeps the hospital's entry)
    document = read_list(world, "gp").json()
    current = resources(document, "List")[0]
    assert current["meta"]["versionId"] == "2"
    merged = save(world, "gp", 2, [changed, metformin])
    assert merged.status_code == 200, merged.text
    records = {e["item"]["reference"].split("/")[1]: e for e in merged.json()["entry"]}
    assert set(records) == {uuid_of(simvastatin), uuid_of(metformin)}


def test_every_entry_must_be_accounted_for(world: World) -> None:
    a, b = statement(), statement("C09AA05", "Ramipril 5 mg")
    assert save(world, "gp", 0, [a, b]).status_code == 201
    dropped = save(world, "gp", 1, [a])
    assert dropped.status_code == 409, dropped.text
    issues = dropped.json()["issue"]
    assert len(issues) == 1 and "Ramipril 5 mg" in issues[0]["diagnostics"]
    assert "not accounted for" in issues[0]["diagnostics"]


def test_no_version_named_is_refused(world: World) -> None:
    assert save(world, "gp", 0, [statement()]).status_code == 201
    refused = save(world, "gp", None, [statement()])
    assert refused.status_code == 412
    assert "basedOn" in refused.json()["issue"][0]["diagnostics"]


def test_an_unchanged_entry_keeps_its_version_and_last_change(world: World) -> None:
    a, b = statement(), statement("C09AA05", "Ramipril 5 mg")
    assert save(world, "gp", 0, [a, b]).status_code == 201
    first = read_list(world, "gp").json()
    before = {s["id"]: s for s in resources(first, "MedicationStatement")}
    changed_b = with_reason(b, "Seponert dose redusert", dosage=[{"text": "1/2 tablett"}])
    second = save(world, "hospital-physician", 1, [a, changed_b])
    assert second.status_code == 200, second.text
    refs = {e["item"]["reference"].split("/")[1]: e for e in second.json()["entry"]}
    assert refs[uuid_of(a)]["item"]["reference"].endswith("/_history/1")
    assert refs[uuid_of(b)]["item"]["reference"].endswith("/_history/2")
    record = {p["url"]: p for p in refs[uuid_of(b)]["extension"][0]["extension"]}
    assert record["change"]["valueCode"] == "changed"
    assert record["reason"]["valueString"] == "Seponert dose redusert"
    after = {s["id"]: s for s in resources(read_list(world, "gp").json(), "MedicationStatement")}
    assert after[uuid_of(a)] == before[uuid_of(a)]  # last-changed did not move
    assert after[uuid_of(b)]["extension"] != before[uuid_of(b)]["extension"]


def test_a_change_without_a_reason_is_refused_per_entry(world: World) -> None:
    a, b = statement(), statement("C09AA05", "Ramipril 5 mg")
    assert save(world, "gp", 0, [a, b]).status_code == 201
    a2 = {**a, "dosage": [{"text": "2 tabletter"}]}
    b2 = {**b, "status": "stopped"}
    refused = save(world, "gp", 1, [a2, b2])
    assert refused.status_code == 422, refused.text
    messages = [i["diagnostics"] for i in refused.json()["issue"]]
    assert len(messages) == 2
    assert any("is changed" in m for m in messages) and any("is withdrawn" in m for m in messages)


def test_plain_writes_of_the_list_are_refused(world: World) -> None:
    created = save(world, "gp", 0, [statement()])
    listing = created.json()
    put = world.update("gp", {k: v for k, v in listing.items() if k != "entry"})
    assert put.status_code == 409
    assert "$medication-list-update" in put.json()["issue"][0]["diagnostics"]
    gone = world.client.delete(f"/fhir/List/{listing['id']}", headers=world.as_("gp"))
    assert gone.status_code == 405


KJ = "https://samhandling.no/fhir/StructureDefinition/"


def test_if_match_names_the_version_read(world: World) -> None:
    simvastatin = statement()
    created = save(world, "gp", None, [simvastatin], if_match='W/"0"')
    assert created.status_code == 201, created.text
    metformin = statement("A10BA02", "Metformin 500 mg")
    added = save(world, "hospital-physician", None, [simvastatin, metformin], if_match='W/"1"')
    assert added.status_code == 200, added.text
    assert added.headers["ETag"] == 'W/"2"'
    # the GP's If-Match names version 1, which is no longer current: the guard's refusal
    stale = save(world, "gp", None, [simvastatin], if_match='W/"1"')
    assert stale.status_code == 412, stale.text
    assert "Metformin 500 mg" in stale.text
    assert save(world, "gp", None, [simvastatin, metformin], if_match='W/"2"').status_code == 200


def test_if_match_and_based_on_must_agree(world: World) -> None:
    simvastatin = statement()
    assert save(world, "gp", 0, [simvastatin]).status_code == 201
    confused = save(world, "gp", 1, [simvastatin, statement("A10BA02")], if_match='W/"2"')
    assert confused.status_code == 400, confused.text
    assert "If-Match 2, basedOn 1" in confused.json()["issue"][0]["diagnostics"]
    (listing,) = resources(read_list(world, "gp").json(), "List")
    assert listing["meta"]["versionId"] == "1"  # nothing written


def test_a_malformed_if_match_is_refused(world: World) -> None:
    refused = save(world, "gp", None, [statement()], if_match="version one")
    assert refused.status_code == 400
    assert "If-Match" in refused.json()["issue"][0]["diagnostics"]
