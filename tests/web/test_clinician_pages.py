"""The clinician's pages in a real browser against a real server process (PostgreSQL): no
purpose, no data; the purpose of use declared with the patient; emergency access shown
prominently; a drug reaction registered through the form; what each persona may see."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from fixtures.browser import Browser
from fixtures.critical_information import CITIZEN
from fixtures.server_process import ServerProcess
from fixtures.web_world import (
    BLOCKED,
    CITIZEN_FNR,
    DELAYED,
    MEDICINE,
    RELEASED,
    World,
    another_prescriber_adds,
    load_world,
    reaction_to,
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


def _citizen_sees(world: World, title: str) -> bool:
    own = world.client.get(
        "/DiagnosticReport", params={"patient": "persona-citizen"},
        headers=world.server.headers("citizen"),
    )  # fmt: skip
    assert own.status_code == 200, own.text
    return title in own.text


def test_the_gp_withholds_a_result_from_the_patient_and_releases_it_with_a_reason(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    find(gp, "TREAT")
    labs = gp.page.locator("section[aria-labelledby=labs-heading]")
    blocked = labs.locator("tr.lab-report", has_text=BLOCKED)
    assert "Holdt tilbake fra pasienten" in blocked.inner_text()
    released = labs.locator("tr.lab-report", has_text=RELEASED)
    assert "Holdt tilbake" not in released.inner_text() and _citizen_sees(world, RELEASED)

    released.get_by_label("Begrunnelse").fill("Svaret bør forklares i en samtale")
    gp.follow(released.get_by_role("button", name=re.compile("Hold tilbake fra pasienten")))
    assert gp.page.locator("[role=status]").inner_text().startswith("Prøvesvaret holdes")
    gp.check("clinician-lab-blocked")
    assert "Holdt tilbake fra pasienten" in released.inner_text()
    assert not _citizen_sees(world, RELEASED)  # withheld: the citizen's search omits it

    released.get_by_label("Begrunnelse").fill("Samtalen er holdt")
    gp.follow(released.get_by_role("button", name=re.compile("Frigi for pasienten")))
    assert "Holdt tilbake" not in released.inner_text() and _citizen_sees(world, RELEASED)


def test_a_block_needs_a_reason_a_session_token_and_a_right_to_write(
    world: World, browser: Callable[..., Browser]
) -> None:
    nurse = browser()
    nurse.log_in("home-care-nurse")
    find(nurse, "COC")
    row = nurse.page.locator("section[aria-labelledby=labs-heading] tr.lab-report").first
    row.get_by_label("Begrunnelse").fill("Prøver")
    nurse.follow(row.get_by_role("button", name=re.compile("Hold tilbake fra pasienten")))
    assert "Ingen tilgang" in nurse.page.inner_text("h1")  # the nurse's scopes give no writes
    nurse.check("nurse-block-refused")
    assert _citizen_sees(world, RELEASED)

    gp = browser()
    gp.log_in("gp")
    find(gp, "TREAT")
    report = gp.page.locator("tr.lab-report", has_text=RELEASED).get_attribute("data-id")
    target = f"/clinician/patient/persona-citizen/labs/{report}/block"
    token = gp.page.locator("input[name=csrf_token]").first.get_attribute("value")
    for form, status in (({"csrf_token": token, "reason": " "}, 400),
                         ({"reason": "uten token"}, 403),
                         ({"csrf_token": "forged", "reason": "x"}, 403)):  # fmt: skip
        answer = gp.page.request.post(target, form=form, max_redirects=0)
        assert answer.status == status and "<h1>" in answer.text()
    assert _citizen_sees(world, RELEASED)


def test_the_gp_stops_a_medicine_sees_a_conflict_clearly_and_confirms_reconciliation(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    find(gp, "TREAT")
    medications = gp.page.locator("section[aria-labelledby=medications-heading]")
    assert "Listen er ikke samstemt." in medications.inner_text()
    statin = medications.locator("tr.medication", has_text=MEDICINE)
    statin.get_by_label("Begrunnelse for seponering").fill("Muskelsmerter")

    another_prescriber_adds(world, "Metformin 500 mg")  # while the page is open
    gp.follow(statin.get_by_role("button", name=re.compile("Seponer")))
    conflict = gp.page.locator(".conflict[role=alert]")
    assert "endret av andre siden du så den" in conflict.inner_text()
    assert "Metformin 500 mg" in conflict.inner_text()  # the service names what changed
    gp.check("clinician-medication-conflict")
    assert "Metformin 500 mg" in medications.inner_text()  # the list as it is now
    assert "I bruk" in statin.inner_text()  # not stopped

    statin.get_by_label("Begrunnelse for seponering").fill("Muskelsmerter")
    gp.follow(statin.get_by_role("button", name=re.compile("Seponer")))
    assert gp.page.locator("[role=status]").inner_text() == "Legemiddelet er seponert."
    assert "Seponert" in statin.inner_text() and "Metformin 500 mg" in medications.inner_text()
    changes = world.client.get(
        "/Patient/persona-citizen/$medication-list-changes", headers=world.server.headers("gp")
    )
    assert "Muskelsmerter" in changes.text  # the reason, in the list's change log
    gp.follow(medications.get_by_role("button", name=re.compile("Bekreft at legemiddellisten")))
    assert (
        "Sist samstemt" in medications.inner_text() and "Gro Fastlege" in medications.inner_text()
    )
    gp.check("clinician-medication-reconciled")


def test_the_gp_confirms_critical_information_and_the_nurse_may_not(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    find(gp, "TREAT")
    entry = gp.page.locator("li.critical-entry", has_text="Fenoksymetylpenicillin")
    assert "Sist bekreftet" not in entry.inner_text()
    gp.follow(entry.get_by_role("button", name=re.compile("Bekreft at opplysningen stemmer")))
    assert gp.page.locator("[role=status]").inner_text() == "Opplysningen er bekreftet."
    assert "Sist bekreftet" in entry.inner_text() and "Gro Fastlege" in entry.inner_text()
    gp.check("clinician-critical-confirmed")
    mine = world.client.get(
        "/AllergyIntolerance", params={"patient": "persona-citizen", "_count": "50"},
        headers=world.server.headers("citizen"),
    )  # fmt: skip
    assert "kj-last-confirmed" in mine.text  # the service's stamp, seen by the citizen too

    nurse = browser()
    nurse.log_in("home-care-nurse")
    find(nurse, "COC")
    entry = nurse.page.locator("li.critical-entry", has_text="Fenoksymetylpenicillin")
    nurse.follow(entry.get_by_role("button", name=re.compile("Bekreft at opplysningen stemmer")))
    assert "Ingen tilgang" in nurse.page.inner_text("h1")  # no right to write


def test_the_gp_marks_an_entry_entered_in_error_and_a_stale_page_is_refused(
    world: World, browser: Callable[..., Browser]
) -> None:
    morphine = world.post("gp", "/AllergyIntolerance", reaction_to(CITIZEN, "N02AA01", "Morfin"))
    gp = browser()
    gp.log_in("gp")
    find(gp, "TREAT")
    entry = gp.page.locator("li.critical-entry", has_text="Morfin")
    entry.get_by_label("Begrunnelse for feilregistrering").fill("Feil pasient")
    confirmed = world.client.post(  # another clinician confirms it meanwhile: a new version
        f"/AllergyIntolerance/{morphine['id']}/$confirm", headers=world.server.headers("gp")
    )
    assert confirmed.status_code == 200, confirmed.text
    gp.follow(entry.get_by_role("button", name=re.compile("Merk som feilregistrert")))
    conflict = gp.page.locator("section[aria-labelledby=critical-heading] .conflict[role=alert]")
    assert "endret av andre siden du så den" in conflict.inner_text()
    gp.check("clinician-critical-conflict")
    assert entry.count() == 1  # still there: nothing written

    entry.get_by_label("Begrunnelse for feilregistrering").fill("Feil pasient")
    gp.follow(entry.get_by_role("button", name=re.compile("Merk som feilregistrert")))
    assert "feilregistrert" in gp.page.locator("[role=status]").inner_text()
    assert "Morfin" not in gp.page.locator("section[aria-labelledby=critical-heading]").inner_text()
    history = world.client.get(
        f"/AllergyIntolerance/{morphine['id']}/_history", headers=world.server.headers("gp")
    )
    assert history.json()["total"] == 3  # registered, confirmed, entered in error: all kept
    assert "Feil pasient" in history.text


def test_the_server_logged_no_token_and_no_national_id(world: World) -> None:
    """After every walk above (run last in the module): the server's log holds no access
    token and none of the national ID numbers typed into the pages."""
    log = world.server.log_path.read_text()
    assert "eyJ" not in log
    assert CITIZEN_FNR not in log


def _pulse_days(who: Browser) -> list[tuple[int, float, float, float]]:
    """(count, lowest, mean, highest) per day of the pulse chart's table."""
    table = who.page.locator("section[aria-labelledby=m-pulse] table tbody tr")
    rows = [r.split("\t") for r in table.all_inner_texts()]
    return sorted((int(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows)


def test_the_gp_sees_the_patients_home_measurements_as_the_citizen_does(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    find(gp, "TREAT")
    gp.follow(gp.page.get_by_role("link", name="Målinger hjemmefra"))
    assert gp.page.url.endswith("/clinician/patient/persona-citizen/measurements")
    text = gp.check("clinician-measurements")
    assert "Cecilie Innbygger" in text and "Oppgitt formål: Behandling" in text
    chart = gp.page.locator("section[aria-labelledby=m-pulse] svg[role=img]")
    assert chart.count() == 1 and chart.locator("circle").count() == 2  # two days measured
    assert _pulse_days(gp) == [(1, 80.0, 80.0, 80.0), (2, 70.0, 80.0, 90.0)]
    weight = gp.page.locator("section[aria-labelledby=m-weight]").inner_text()
    assert "Ingen målinger i perioden." in weight
    gp.follow(gp.page.get_by_role("link", name="Siste 7 dager"))
    assert gp.page.url.endswith("/measurements?days=7") and _pulse_days(gp)[0][0] == 1

    nobody = browser()
    nobody.log_in("gp")  # no purpose of use declared: no measurements
    nobody.page.goto("/clinician/patient/persona-citizen/measurements")
    text = nobody.check("clinician-measurements-no-purpose")
    assert "Ikke tilgjengelig" in text and nobody.page.locator("svg").count() == 0


def _cecilie_hides_her_document(cecilie: Browser, hide: bool) -> None:
    row = cecilie.page.locator("section[aria-labelledby=documents-heading] tr.document")
    name = "Skjul for helsepersonell" if hide else "Vis for helsepersonell"
    cecilie.follow(row.get_by_role("button", name=re.compile(name)))


def test_the_gp_downloads_the_patients_document_but_never_one_she_hid(
    world: World, browser: Callable[..., Browser]
) -> None:
    gp = browser()
    gp.log_in("gp")
    find(gp, "TREAT")
    documents = gp.page.locator("section[aria-labelledby=documents-heading]")
    row = documents.locator("tr.document")
    assert row.count() == 1
    gp.check("clinician-documents")
    assert "Skjul for helsepersonell" not in documents.inner_text()  # the patient's choice
    link = row.get_by_role("link")
    href = link.get_attribute("href") or ""
    assert href.startswith("/clinician/patient/persona-citizen/documents/")
    with gp.page.expect_download() as download:
        link.click()  # ITI-68 under the GP's access
    assert download.value.path().read_bytes() == world.document

    cecilie = browser()
    cecilie.log_in("citizen")
    _cecilie_hides_her_document(cecilie, hide=True)
    try:
        gp.page.goto("/clinician/patient/persona-citizen")
        gp.check("clinician-document-hidden")
        assert documents.locator("tr.document").count() == 0
        assert "Ingen dokumenter." in documents.inner_text()
        answer = gp.page.goto(href)  # nor downloadable by its URL: refused, as ITI-68 does
        assert answer is not None and answer.status == 403
        assert answer.headers["content-type"].startswith("text/html")
        emergency = browser()
        emergency.log_in("hospital-physician")
        find(emergency, "BTG", reason="Bevisstløs")  # hidden in emergencies too
        hidden = emergency.page.locator("section[aria-labelledby=documents-heading]")
        assert hidden.locator("tr.document").count() == 0
        answer = emergency.page.goto(href)
        assert answer is not None and answer.status == 403
    finally:
        _cecilie_hides_her_document(cecilie, hide=False)
    gp.page.goto("/clinician/patient/persona-citizen")
    assert documents.locator("tr.document").count() == 1


def test_the_pharmacist_sees_no_documents_and_no_measurements(
    world: World, browser: Callable[..., Browser]
) -> None:
    pharmacist = browser()
    pharmacist.log_in("pharmacist")
    find(pharmacist, "TREAT")
    documents = pharmacist.page.locator("section[aria-labelledby=documents-heading]")
    assert "Ikke tilgjengelig" in documents.inner_text()
    assert documents.locator("tr.document").count() == 0
    pharmacist.follow(pharmacist.page.get_by_role("link", name="Målinger hjemmefra"))
    text = pharmacist.check("pharmacist-measurements")
    assert "Ikke tilgjengelig" in text and pharmacist.page.locator("svg").count() == 0
