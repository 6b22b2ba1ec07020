"""The citizen's pages in a real browser against a real server process (PostgreSQL): what
Cecilie sees and what she never sees, a parent acting for a child, the access log, the
language switch; axe-core on every page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from fixtures.browser import Browser
from fixtures.server_process import ServerProcess
from fixtures.web_world import (
    ADULT_CHILD_REACTION,
    BLOCKED,
    DELAYED,
    MEDICINE,
    RELEASED,
    TEEN_REPORT,
    World,
    load_world,
)


@pytest.fixture(scope="module")
def world(web_server: ServerProcess) -> Iterator[World]:
    with httpx.Client(base_url=web_server.base_url, timeout=30) as client:
        yield load_world(web_server, client)


def test_the_citizen_sees_her_own_information_and_nothing_withheld(
    world: World, browser: Callable[..., Browser]
) -> None:
    cecilie = browser()
    cecilie.page.goto("/")
    cecilie.check("front-page")
    cecilie.log_in("citizen", check_login_page=True)  # axe on the issuer's page too
    assert cecilie.page.url.endswith("/citizen")
    text = cecilie.check("citizen-overview")
    assert "Mine helseopplysninger" in text and "Cecilie Innbygger" in text
    assert "Fenoksymetylpenicillin" in text  # her drug reaction
    assert MEDICINE in text and "1 tablett om kvelden" in text  # her medication list
    assert RELEASED in text  # a released lab result
    assert BLOCKED not in text  # the GP blocked it: never shown to her
    assert DELAYED not in text  # still within its delay
    assert "Ibuprofen" not in text and "Amoksicillin" not in text  # other people's data
    narrative = cecilie.page.locator(".lab-report .narrative")
    assert "normal" in narrative.inner_text()
    assert narrative.locator("a, [style]").count() == 0  # the narrative is sanitised


def test_the_citizen_cannot_reach_another_persons_pages(
    world: World, browser: Callable[..., Browser]
) -> None:
    cecilie = browser()
    cecilie.log_in("citizen")
    cecilie.page.goto("/citizen?patient=persona-parent")  # not hers: she stays herself
    text = cecilie.check("citizen-other-person")
    assert "Ibuprofen" not in text and "Fenoksymetylpenicillin" in text
    cecilie.page.goto("/clinician/patient/persona-parent")
    text = cecilie.page.inner_text("body")
    assert "Ibuprofen" not in text


def test_a_parent_sees_the_children_the_age_rules_allow(
    world: World, browser: Callable[..., Browser]
) -> None:
    petter = browser()
    petter.log_in("parent")
    text = petter.check("parent-overview")
    assert "Ibuprofen" in text and "Fenoksymetylpenicillin" not in text  # his own
    people = petter.page.get_by_role("navigation", name="Hvem sine opplysninger")

    def child(rule: str) -> str:
        petter.follow(people.locator("li", has_text=rule).get_by_role("link"))
        return petter.check("parent-child-" + rule[:2].strip())

    text = child("Under 12 år")
    assert "Amoksicillin" in text and "Ibuprofen" not in text  # the child under 12: all
    text = child("12–15 år")
    labs = petter.page.locator("section[aria-labelledby=labs-heading]").inner_text()
    assert "12–15 år: du ser ikke prøvesvar" in text  # the rule that applies, shown
    assert TEEN_REPORT not in labs  # released to the teen, never to the parent:
    teen = world.server.headers("citizen", patient_fnr=world.teen_fnr)
    own = world.client.get("/DiagnosticReport", params={"code:text": "tenåring"}, headers=teen)
    assert TEEN_REPORT in own.text
    text = child("Fra 16 år")
    assert ADULT_CHILD_REACTION not in text and "Klaritromycin" not in text  # nothing from 16
    critical = petter.page.locator("section[aria-labelledby=critical-heading]").inner_text()
    assert "Ikke tilgjengelig" in critical


def test_the_access_log_shows_who_looked_pages_and_filters(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    gp.page.goto("/clinician")
    gp.page.locator("#purpose-BTG").check()
    gp.page.fill("#reason", "Bevisstløs pasient")
    gp.page.fill("#national_id", "05858540072")
    gp.follow(gp.page.get_by_role("button", name="Søk"))
    assert "NØDTILGANG" in gp.page.inner_text("[role=alert]")

    cecilie = browser()
    cecilie.log_in("citizen")
    cecilie.follow(cecilie.page.get_by_role("link", name="Se hvem som har sett opplysningene"))
    text = cecilie.check("citizen-access-log")
    rows = cecilie.page.locator("table.access-log tbody tr")
    assert rows.count() >= 3
    emergency = cecilie.page.locator("tr.emergency-row").first
    assert "Bevisstløs pasient" in emergency.inner_text() and "Fjordbyen legesenter" in text
    assert not re.search(r"(?<!\d)9100001(?!\d)", text)  # no staff identifiers
    cecilie.page.fill("#organisation", "991000011")
    cecilie.follow(cecilie.page.get_by_role("button", name="Filtrer"))
    filtered = cecilie.page.locator("table.access-log tbody tr")
    assert filtered.count() >= 1
    assert all("991000011" in filtered.nth(i).inner_text() for i in range(filtered.count()))
    cecilie.page.fill("#organisation", "")
    cecilie.page.fill("#start", "2001-01-01")
    cecilie.page.fill("#end", "2001-01-02")
    cecilie.follow(cecilie.page.get_by_role("button", name="Filtrer"))
    assert "Ingen oppslag i perioden." in cecilie.page.inner_text("main")


def test_the_pages_speak_english_on_request_and_work_by_keyboard(
    world: World, browser: Callable[..., Browser]
) -> None:
    visitor = browser(locale="en-GB")
    visitor.page.goto("/")
    assert visitor.page.locator("html").get_attribute("lang") == "en"
    visitor.page.keyboard.press("Tab")
    focused = visitor.page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to main content"  # the first stop is the skip link
    visitor.follow(visitor.page.get_by_role("link", name="Norsk bokmål"))
    assert visitor.page.locator("html").get_attribute("lang") == "nb"
    assert "Helseopplysninger i samhandling" in visitor.page.inner_text("h1")
    visitor.log_in("citizen")
    visitor.follow(visitor.page.get_by_role("link", name="English"))
    text = visitor.check("citizen-overview-english")
    assert "My health information" in text and MEDICINE in text
