"""Cheap polling of the indicator: ETag and Last-Modified, 304 until something changes."""

from __future__ import annotations

from fixtures.critical_information import CITIZEN, World, drug_reaction

URL = f"/fhir/Patient/{CITIZEN}/$critical-information-indicator"


def test_the_indicator_answers_304_until_an_entry_changes(world: World) -> None:
    gp = world.as_("gp")
    world.create("gp", drug_reaction(CITIZEN))
    first = world.client.get(URL, headers=gp)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('W/"') and first.headers["Cache-Control"] == "private, no-cache"

    assert world.client.get(URL, headers={**gp, "If-None-Match": etag}).status_code == 304
    unchanged = world.client.get(URL, headers={**gp, "If-Modified-Since": modified})
    assert unchanged.status_code == 304 and unchanged.content == b""

    world.create("gp", drug_reaction(CITIZEN))
    changed = world.client.get(URL, headers={**gp, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_each_caller_has_its_own_etag(world: World) -> None:
    world.create("gp", drug_reaction(CITIZEN))
    gp = world.client.get(URL, headers=world.as_("gp"))
    pharmacist = world.client.get(URL, headers=world.as_("pharmacist"))
    assert gp.status_code == pharmacist.status_code == 200
    # the pharmacist is shown drug reactions only (the other kinds withheld): another answer,
    # so another tag, and a client's tag never stands for what somebody else was shown
    assert gp.json() != pharmacist.json()
    assert gp.headers["ETag"] != pharmacist.headers["ETag"]
