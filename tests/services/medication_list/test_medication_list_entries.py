"""What may stand on the list: one issue per problem, each naming its entry."""

from __future__ import annotations

from medlistkit import save, statement

from fixtures.critical_information import World


def test_vaccines_foods_and_consumables_are_refused_naming_each(world: World) -> None:
    entries = [
        statement("J07BX03", "Covid-19-vaksine"),
        statement(None, "Sondemat", kind="food"),
        statement(None, "Insulinkanyler", kind="consumable"),
        statement("C10AA01", "Simvastatin 20 mg"),
    ]
    refused = save(world, "gp", 0, entries)
    assert refused.status_code == 422, refused.text
    messages = [i["diagnostics"] for i in refused.json()["issue"]]
    assert len(messages) == 3
    assert "Covid-19-vaksine" in messages[0] and "vaccine" in messages[0]
    assert "Sondemat" in messages[1] and "food" in messages[1]
    assert "Insulinkanyler" in messages[2] and "consumable" in messages[2]


def test_otc_and_supplements_are_allowed(world: World) -> None:
    entries = [
        statement("N02BE01", "Paracetamol 500 mg", kind="otc"),
        statement(None, "Omega-3 fiskeolje", kind="supplement"),
    ]
    assert save(world, "gp", 0, entries).status_code == 201


def test_each_problem_of_an_entry_is_one_issue(world: World) -> None:
    bad = statement(None, "Ukjent", patient="somebody-else")
    bad["identifier"] = [{"system": "urn:example:local", "value": "17"}]
    refused = save(world, "gp", 0, [bad])
    assert refused.status_code == 422
    messages = [i["diagnostics"] for i in refused.json()["issue"]]
    assert len(messages) == 3  # no UUID, no ATC, wrong subject
    assert all("Ukjent" in m for m in messages)


def test_an_entry_given_twice_is_refused(world: World) -> None:
    entry = statement()
    refused = save(world, "gp", 0, [entry, entry])
    assert refused.status_code == 422
    assert "given twice" in refused.json()["issue"][0]["diagnostics"]


def test_a_malformed_entry_is_a_400_not_a_crash(world: World) -> None:
    bad = statement()
    bad["identifier"] = "urn:uuid:not-a-list"
    bad["subject"] = "Patient/x"
    refused = save(world, "gp", 0, [bad, statement()])
    assert refused.status_code == 400, refused.text
    assert refused.json()["resourceType"] == "OperationOutcome"
