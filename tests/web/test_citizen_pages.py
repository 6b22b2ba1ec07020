"""The citizen's pages in a real browser against a real server process (PostgreSQL): what
Cecilie sees and what she never sees, a parent acting for a child, an attorney acting for
the adult who gave her a power of attorney, the access log, the language switch; axe-core
on every page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from fixtures.browser import Browser
from fixtures.critical_information import CITIZEN
from fixtures.server_process import ServerProcess
from fixtures.web_world import (
    ADULT_CHILD_REACTION,
    BLOCKED,
    DELAYED,
    GRANTOR_FNR,
    GRANTOR_MEDICINE,
    GRANTOR_REACTION,
    GRANTOR_REPORT,
    MEDICINE,
    PARENT_FNR,
    PULSES,
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


def test_an_attorney_acts_for_the_adult_who_gave_the_power_of_attorney_and_nobody_else(
    world: World, browser: Callable[..., Browser]
) -> None:
    frida = browser()
    frida.log_in("attorney")
    text = frida.check("attorney-overview")
    assert "Frida Fullmektig" in text and GRANTOR_MEDICINE not in text  # herself first
    people = frida.page.get_by_role("navigation", name="Hvem sine opplysninger")
    assert "Aldersreglene for foreldre" not in people.inner_text()  # no age rules here
    assert "fullmakt: du ser det personen selv ser" in people.inner_text()
    frida.follow(people.get_by_role("link", name=re.compile("har gitt deg fullmakt")))
    text = frida.check("attorney-grantor")
    showing = frida.page.inner_text("#showing")
    assert showing.startswith("Gunnar Fullmektig (har gitt deg fullmakt")  # on whose behalf
    assert "har gitt deg fullmakt" in frida.page.inner_text("#behalf")  # and why
    assert GRANTOR_REACTION in text and GRANTOR_MEDICINE in text and GRANTOR_REPORT in text
    assert "Ikke tilgjengelig" not in text  # no age rule withholds anything from an attorney
    assert "Fenoksymetylpenicillin" not in text and MEDICINE not in text

    frida.page.goto("/citizen?patient=persona-citizen")  # another adult: she stays herself
    text = frida.check("attorney-other-adult")
    assert "deg selv" in frida.page.inner_text("#showing")
    for secret in ("Fenoksymetylpenicillin", MEDICINE, RELEASED, "Cecilie"):
        assert secret not in text
    gp = world.server.headers("gp")
    found = world.client.get("/DocumentReference", params={"patient": CITIZEN}, headers=gp)
    urls = [c["attachment"]["url"] for e in found.json()["entry"] for c in e["resource"]["content"]]
    assert urls
    for url in urls:
        answer = frida.page.goto("/citizen/documents/" + url.rsplit("/", 1)[-1])
        assert answer is not None and answer.status == 404  # nor her documents

    gunnar = browser()
    gunnar.log_in("citizen", person=GRANTOR_FNR)  # the grantor's access log names her
    gunnar.follow(gunnar.page.get_by_role("link", name="Se hvem som har sett opplysningene"))
    gunnar.check("grantor-access-log")
    rows = gunnar.page.locator("table.access-log tbody tr").all_inner_texts()
    hers = [r for r in rows if "fullmektig: Frida Fullmektig" in r]
    assert len(hers) >= 4  # critical information, list, change log, labs, documents, name
    assert all("leste" in r or "søkte i" in r for r in hers)


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


def _visible_to_the_gp(world: World) -> set[str]:
    gp = world.server.headers("gp")
    found = world.client.get("/DocumentReference", params={"patient": CITIZEN}, headers=gp)
    assert found.status_code == 200, found.text
    return {
        e["resource"]["id"] for e in found.json().get("entry", []) if e["search"]["mode"] == "match"
    }


def test_the_citizen_downloads_her_document_and_hides_it_from_clinicians(
    world: World, browser: Callable[..., Browser]
) -> None:
    cecilie = browser()
    cecilie.log_in("citizen")
    documents = cecilie.page.locator("section[aria-labelledby=documents-heading]")
    row = documents.locator("tr.document")
    assert row.count() == 1 and "Synlig for helsepersonell" in row.inner_text()
    document_id = row.get_attribute("data-id")
    assert document_id in _visible_to_the_gp(world)
    with cecilie.page.expect_download() as download:
        row.get_by_role("link").click()  # ITI-68 under her own access rules
    assert download.value.path().read_bytes() == world.document

    cecilie.follow(row.get_by_role("button", name=re.compile("Skjul for helsepersonell")))
    text = cecilie.check("citizen-document-hidden")
    assert "Skjult for helsepersonell" in row.inner_text() and MEDICINE in text
    assert document_id not in _visible_to_the_gp(world)  # NORS: withheld from the GP

    cecilie.follow(row.get_by_role("button", name=re.compile("Vis for helsepersonell")))
    assert "Synlig for helsepersonell" in row.inner_text()
    assert document_id in _visible_to_the_gp(world)


def test_a_parent_may_not_hide_a_childs_documents(
    world: World, browser: Callable[..., Browser]
) -> None:
    petter = browser()
    petter.log_in("parent")
    petter.page.goto("/citizen?patient=persona-child")
    text = petter.check("parent-child-documents")
    assert "Amoksicillin" in text and "Skjul for helsepersonell" not in text


def test_home_measurements_are_a_chart_with_a_table_of_the_same_numbers(
    world: World, browser: Callable[..., Browser]
) -> None:
    cecilie = browser()
    cecilie.log_in("citizen")
    cecilie.follow(cecilie.page.get_by_role("link", name="Målinger hjemmefra"))
    assert cecilie.page.url.endswith("/citizen/measurements?patient=persona-citizen")
    text = cecilie.check("citizen-measurements")
    pulse = cecilie.page.locator("section[aria-labelledby=m-pulse]")
    chart = pulse.locator("svg[role=img]")
    assert chart.count() == 1 and chart.locator("title").text_content() == "Puls"
    assert chart.locator("circle").count() == 2  # two days with measurements
    assert chart.locator("line.range").count() == 2  # a min–max bar each
    rows = [r.split("\t") for r in pulse.locator("table tbody tr").all_inner_texts()]
    by_day = sorted((int(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows)
    assert by_day == [(1, 80.0, 80.0, 80.0), (2, 70.0, 80.0, 90.0)]  # count, low, mean, high
    assert len(PULSES) == 3
    assert (
        "Ingen målinger i perioden."
        in pulse.page.locator("section[aria-labelledby=m-weight]").inner_text()
    )
    assert "Home measurements" not in text

    cecilie.follow(cecilie.page.get_by_role("link", name="Siste 7 dager"))
    assert cecilie.page.locator("section[aria-labelledby=m-pulse] circle").count() == 2


def test_a_page_that_does_not_exist_is_an_html_page_in_either_language(
    world: World, browser: Callable[..., Browser]
) -> None:
    for locale, title in (("nb-NO", "Finnes ikke"), ("en-GB", "Not found")):
        visitor = browser(locale=locale)
        visitor.log_in("citizen")
        answer = visitor.page.goto("/citizen/no-such-page")
        assert answer is not None and answer.status == 404
        assert answer.headers["content-type"].startswith("text/html")
        visitor.check(f"not-found-{locale}")
        assert visitor.page.inner_text("h1") == title
        answer = visitor.page.goto("/citizen/documents/no-such-binary")
        assert answer is not None and answer.status == 404
        assert visitor.page.inner_text("h1") == title


def test_a_citizen_gives_a_power_of_attorney_and_revokes_it(
    world: World, browser: Callable[..., Browser]
) -> None:
    """Cecilie gives Petter a power of attorney on her page; he logs in and acts for her
    (his children as before); she revokes it and his next page shows nothing of hers."""
    cecilie = browser()
    cecilie.log_in("citizen")
    cecilie.follow(cecilie.page.get_by_role("link", name="Fullmakter du har gitt og fått"))
    text = cecilie.check("poa-empty")
    assert "Du har ikke gitt noen fullmakt." in text
    cecilie.page.fill("#attorney", PARENT_FNR)
    cecilie.page.fill("#family", "Feil")  # a wrong name: the same answer as an unknown number
    cecilie.follow(cecilie.page.get_by_role("button", name="Gi fullmakt"))
    refused = cecilie.page.inner_text("#poa-refused")
    assert "Vi finner ingen person med dette nummeret og etternavnet." in refused
    assert "Du har ikke gitt noen fullmakt." in cecilie.check("poa-refused")
    cecilie.page.fill("#attorney", PARENT_FNR)
    cecilie.page.fill("#family", "forelder")
    cecilie.follow(cecilie.page.get_by_role("button", name="Gi fullmakt"))
    assert "Fullmakten er gitt." in cecilie.check("poa-given")
    given = cecilie.page.locator("#poa-given tbody tr")
    assert given.count() == 1 and "Petter Forelder" in given.inner_text()
    assert "Gjelder" in given.inner_text() and "til den trekkes tilbake" in given.inner_text()

    petter = browser()
    petter.log_in("parent")  # the issuer reads the register at login
    petter.follow(petter.page.get_by_role("link", name="Fullmakter du har gitt og fått"))
    received = petter.page.locator("#poa-received tbody tr")
    assert "Cecilie Innbygger" in petter.check("poa-received") and received.count() == 1
    petter.follow(received.get_by_role("link", name="Cecilie Innbygger"))
    text = petter.check("poa-attorney-acts")
    assert petter.page.inner_text("#showing").startswith("Cecilie Innbygger (har gitt deg")
    assert "Fenoksymetylpenicillin" in text and MEDICINE in text  # her information
    people = petter.page.get_by_role("navigation", name="Hvem sine opplysninger")
    assert "Under 12 år" in people.inner_text()  # his children as before

    cecilie.follow(cecilie.page.get_by_role("button", name="Trekk tilbake: Petter Forelder"))
    assert "Fullmakten er trukket tilbake." in cecilie.check("poa-revoked")
    assert cecilie.page.locator("#poa-given").count() == 0
    cecilie.follow(cecilie.page.get_by_role("link", name="Tilbake"))
    cecilie.follow(cecilie.page.get_by_role("link", name="Se hvem som har sett opplysningene"))
    log = cecilie.page.locator("table.access-log tbody tr").all_inner_texts()
    assert any("fullmektig: Petter Forelder" in row for row in log)  # what he looked at
    assert any("trakk tilbake fullmakt" in row for row in log)
    assert any("ga fullmakt" in row for row in log)

    petter.page.reload()  # the same session and token: the register says no at once
    text = petter.check("poa-attorney-revoked")
    assert "Du har ikke tilgang til denne personens opplysninger" in text
    assert "Fenoksymetylpenicillin" not in text and MEDICINE not in text
    assert "deg selv" in petter.page.inner_text("#showing")
    assert "Cecilie" not in petter.page.inner_text("nav.people")
    assert "Ibuprofen" in text  # his own information
    petter.page.goto("/citizen?patient=persona-child")
    assert "Amoksicillin" in petter.check("poa-parent-unchanged")  # the child under 12 still
