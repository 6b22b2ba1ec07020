"""The clinician registers every other kind of critical information from the patient page
(critical condition, ongoing treatment, implant, procedural change) in a real browser
against a real server process (PostgreSQL); a forged form writes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from fixtures.browser import Browser
from fixtures.server_process import ServerProcess
from fixtures.web_world import CITIZEN_FNR, World, load_world
from samhandling.services.critical_information.kinds import KINDS

PATIENT = "persona-citizen"
PROFILES = {kind.key: kind.profile for kind in KINDS}
#: kind → (link text, the choices made, what the page then shows, resource type, code)
NEW_ENTRIES = {
    "critical-condition": (
        "Registrer kritisk medisinsk tilstand",
        {"#code": "49436004", "#reason": "3"},
        "Atrieflimmer",
        "Condition",
        "49436004",
    ),
    "ongoing-treatment": (
        "Registrer pågående behandling",
        {"#code": "5"},
        "Dialyse",
        "Procedure",
        "5",
    ),
    "implant": (
        "Registrer implantat",
        {"#code": "13"},
        "Coronar stent",
        "DeviceUseStatement",
        "13",
    ),
    "procedural-change": (
        "Registrer endring i prosedyrer",
        {"#code": "1"},
        "reservert seg mot blodtransfusjon",
        "Flag",
        "1",
    ),
}


@pytest.fixture(scope="module")
def world(web_server: ServerProcess) -> Iterator[World]:
    with httpx.Client(base_url=web_server.base_url, timeout=30) as client:
        yield load_world(web_server, client)


def find_patient(who: Browser) -> None:
    who.page.goto("/clinician")
    who.page.locator("#purpose-TREAT").check()
    who.page.fill("#national_id", CITIZEN_FNR)
    who.follow(who.page.get_by_role("button", name="Søk"))


def registered(world: World, rtype: str) -> list[dict]:
    """The patient's entries of `rtype`, as the API gives them to the GP."""
    answer = world.client.get(
        f"/{rtype}", params={"subject": f"Patient/{PATIENT}", "_count": "50"},
        headers=world.server.headers("gp"),
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return [e["resource"] for e in answer.json().get("entry", []) if "resource" in e]


def _coded(entry: dict, code: str) -> bool:
    concepts = [entry.get("code") or {}] + [d.get("type") or {} for d in entry.get("contained", [])]
    return any(c.get("code") == code for concept in concepts for c in concept.get("coding", []))


def test_the_gp_registers_each_other_kind_of_critical_information(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    find_patient(gp)
    for kind, (link, choices, shown, rtype, code) in NEW_ENTRIES.items():
        assert not any(_coded(e, code) for e in registered(world, rtype))
        gp.follow(gp.page.get_by_role("link", name=link))
        gp.check(f"clinician-register-{kind}")
        for field, value in choices.items():
            gp.page.select_option(field, value)
        if kind == "procedural-change":
            gp.page.locator("#category-9").check()
        else:
            gp.page.fill("#note", f"Notat om {kind}")
        gp.follow(gp.page.get_by_role("button", name="Lagre"))
        assert gp.page.locator("[role=status]").inner_text() == "Registrert."
        section = gp.page.locator("section[aria-labelledby=critical-heading]")
        assert shown in section.inner_text(), kind
        [entry] = [e for e in registered(world, rtype) if _coded(e, code)]
        assert PROFILES[kind] in entry["meta"]["profile"]
        urls = {x["url"].rsplit("/", 1)[-1] for x in entry.get("extension", [])}
        assert {"kj-information-source", "kj-registered"} <= urls, urls  # the server's stamp
        assert "Fastlege" in str(entry["extension"])  # registered by the GP, from her token
    gp.check("clinician-patient-every-kind")

    condition = next(e for e in registered(world, "Condition") if _coded(e, "49436004"))
    assert condition["category"][0]["coding"][0]["code"] == "5"
    assert "Notat om critical-condition" in str(condition.get("note"))
    assert '"code": "3"' in str(condition["extension"]).replace("'", '"')  # 7513: bleeding
    flag = next(e for e in registered(world, "Flag") if _coded(e, "1"))
    assert flag["category"][0]["coding"][0]["code"] == "9"


def test_a_forged_or_missing_csrf_token_or_an_unknown_choice_writes_nothing(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    find_patient(gp)
    token = gp.page.locator("input[name=csrf_token]").first.get_attribute("value")
    target = f"/clinician/patient/{PATIENT}/register/implant"
    before = len(registered(world, "DeviceUseStatement"))
    for form, status in (({"code": "10"}, 403),
                         ({"csrf_token": "forged", "code": "10"}, 403),
                         ({"csrf_token": "x" * 43, "code": "10"}, 403),
                         ({"csrf_token": token, "code": "999"}, 400)):  # fmt: skip
        answer = gp.page.request.post(target, form=form, max_redirects=0)
        assert answer.status == status and "<h1>" in answer.text()
    unknown = gp.page.request.post(
        f"/clinician/patient/{PATIENT}/register/AllergyIntolerance",
        form={"csrf_token": token, "code": "10"}, max_redirects=0,
    )  # fmt: skip
    assert unknown.status == 400
    assert len(registered(world, "DeviceUseStatement")) == before  # nothing written

    nurse = browser()
    nurse.log_in("home-care-nurse")
    nurse.page.goto("/clinician")
    nurse.page.locator("#purpose-COC").check()
    nurse.page.fill("#national_id", CITIZEN_FNR)
    nurse.follow(nurse.page.get_by_role("button", name="Søk"))
    nurse.follow(nurse.page.get_by_role("link", name="Registrer implantat"))
    nurse.follow(nurse.page.get_by_role("button", name=re.compile("Lagre")))
    assert "Ingen tilgang" in nurse.page.inner_text("h1")  # the service's write rule
    assert len(registered(world, "DeviceUseStatement")) == before
