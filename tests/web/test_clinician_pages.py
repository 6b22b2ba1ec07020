"""The clinician's pages in a real browser against a real server process (PostgreSQL): no
purpose, no data; the purpose of use declared with the patient; emergency access shown
prominently; a drug reaction registered through the form; what each persona may see."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from fixtures.browser import Browser
from fixtures.server_process import ServerProcess
from fixtures.web_world import (
    BLOCKED,
    CITIZEN_FNR,
    DELAYED,
    MEDICINE,
    RELEASED,
    World,
    load_world,
)


@pytest.fixture(scope="module")
def world(web_server: ServerProcess) -> Iterator[World]:
    with httpx.Client(base_url=web_server.base_url, timeout=30) as client:
        yield load_world(web_server, client)


def find(who: Browser, purpose: str, national_id: str = CITIZEN_FNR, reason: str = "") -> None:
    who.page.goto("/clinician")
    who.page.locator(f"#purpose-{purpose}").check()
    if reason:
        who.page.fill("#reason", reason)
    who.page.fill("#national_id", national_id)
    who.follow(who.page.get_by_role("button", name="Søk"))


def test_a_clinician_without_a_purpose_of_use_sees_nothing(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    assert gp.page.url.endswith("/clinician")
    text = gp.check("clinician-find")
    assert "Du har ikke oppgitt formål" in text
    gp.page.goto("/clinician/patient/persona-citizen")
    text = gp.check("clinician-no-purpose")
    assert "ingen pasientopplysninger vises" in text and "Ikke tilgjengelig" in text
    for shown in ("Fenoksymetylpenicillin", MEDICINE, RELEASED, "Cecilie"):
        assert shown not in text


def test_the_gp_finds_the_patient_sees_everything_and_registers_a_drug_reaction(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    find(gp, "TREAT")
    assert gp.page.url.endswith("/clinician/patient/persona-citizen")
    text = gp.check("clinician-patient")
    assert "Cecilie Innbygger" in text and "Oppgitt formål: Behandling" in text
    assert "Fenoksymetylpenicillin" in text and MEDICINE in text
    assert RELEASED in text and BLOCKED in text and DELAYED in text  # clinicians see all at once
    assert gp.page.locator("[role=alert]").count() == 0  # no emergency banner

    gp.follow(gp.page.get_by_role("link", name="Registrer legemiddelreaksjon"))
    gp.check("clinician-drug-reaction-form")
    gp.page.select_option("#substance", "J01FA09")
    gp.page.select_option("#reaction", "1")
    gp.page.locator("#criticality-high").check()
    gp.page.fill("#note", "Reagerte ved forrige kur")
    gp.follow(gp.page.get_by_role("button", name="Lagre"))
    assert gp.page.locator("[role=status]").inner_text() == "Registrert."
    text = gp.check("clinician-patient-registered")
    assert "Klaritromycin" in text and "Anafylaktisk reaksjon" in text

    cecilie = browser()
    cecilie.log_in("citizen")
    assert "Klaritromycin" in cecilie.page.inner_text("main")  # the citizen sees it too


def test_emergency_access_needs_a_reason_and_is_shown_prominently(
    world: World, browser: Callable[..., Browser]
) -> None:
    doctor = browser()
    doctor.log_in("hospital-physician")
    doctor.page.goto("/clinician")
    doctor.page.locator("#purpose-ETREAT").check()
    doctor.page.fill("#family", "Innbygger")
    doctor.page.fill("#birthdate", "1985-05-05")
    doctor.follow(doctor.page.get_by_role("button", name="Søk"))
    assert "emergency access needs a reason" in doctor.page.inner_text("main")
    assert doctor.page.locator("[role=alert]").count() == 0

    doctor.page.goto("/clinician")
    doctor.page.locator("#purpose-ETREAT").check()
    doctor.page.fill("#reason", "Innlagt bevisstløs")
    doctor.page.fill("#family", "Innbygger")
    doctor.page.fill("#birthdate", "1985-05-05")
    doctor.follow(doctor.page.get_by_role("button", name="Søk"))
    banner = doctor.page.locator("[role=alert]")
    assert "NØDTILGANG" in banner.inner_text() and "Innlagt bevisstløs" in banner.inner_text()
    text = doctor.check("clinician-emergency")
    assert "Fenoksymetylpenicillin" in text and MEDICINE in text


def test_the_pharmacist_sees_drug_reactions_and_the_list_but_no_lab_results(
    world: World, browser: Callable[..., Browser]
) -> None:
    pharmacist = browser()
    pharmacist.log_in("pharmacist")
    find(pharmacist, "TREAT")
    text = pharmacist.check("pharmacist-patient")
    assert "Fenoksymetylpenicillin" in text and MEDICINE in text
    labs = pharmacist.page.locator("section[aria-labelledby=labs-heading]").inner_text()
    assert "Ikke tilgjengelig" in labs and RELEASED not in labs


def test_the_home_care_nurse_reads_and_may_not_register_critical_information(
    world: World, browser: Callable[..., Browser]
) -> None:
    nurse = browser()
    nurse.log_in("home-care-nurse")
    find(nurse, "COC")
    text = nurse.check("nurse-patient")
    assert MEDICINE in text and "Fenoksymetylpenicillin" in text
    nurse.follow(nurse.page.get_by_role("link", name="Registrer legemiddelreaksjon"))
    nurse.follow(nurse.page.get_by_role("button", name="Lagre"))
    assert "Ingen tilgang" in nurse.page.inner_text("h1")  # the scopes give no writes


def test_the_server_logged_no_token_and_no_national_id(world: World) -> None:
    """After every walk above (run last in the module): the server's log holds no access
    token and none of the national ID numbers typed into the pages."""
    log = world.server.log_path.read_text()
    assert "eyJ" not in log
    assert CITIZEN_FNR not in log
