"""The web views on two server processes on one PostgreSQL database, as behind a load
balancer without sticky sessions: a login begun on one node finishes on the other, a session
made on one serves pages on the other, the purpose a clinician declares on one is in force
on the other, and logging out on one ends the session on both.

Both nodes call themselves by the same public URL (the first node's; the development
issuer's `iss` and the login's redirect URI are built from it) and share the data directory
(the issuer's signing key and the cookies' signing key), as nodes behind one address do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from fixtures.server_process import ServerProcess
from fixtures.tampering import altered_signature
from fixtures.web_world import CITIZEN_FNR


@pytest.fixture(scope="module")
def nodes(
    emptied_postgres: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(root of node A, root of node B), both serving the personas' records."""
    database, data = emptied_postgres(), tmp_path_factory.mktemp("two-nodes") / "data"
    first = ServerProcess(database, data).start()
    second = ServerProcess(database, data)
    second.base_url = first.base_url  # the public name both answer to
    second.start()
    with httpx.Client(base_url=first.base_url, timeout=30) as client:
        first.load_personas(client)
    yield (f"http://127.0.0.1:{first.port}", f"http://127.0.0.1:{second.port}")
    second.stop()
    first.stop()


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """One browser's cookies (kept per host, so both nodes see them), no redirects followed."""
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        yield client


def log_in(browser: httpx.Client, begin_on: str, persona: str) -> httpx.Response:
    """`/login` on `begin_on`; the provider's page; its redirect back (to the public URL)."""
    started = browser.get(f"{begin_on}/login")
    assert started.status_code == 303, started.text
    page = browser.get(started.headers["location"])
    found = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert found is not None, page.text
    form = {"request_id": found.group(1), "persona": persona, "patient": "", "purpose": ""}
    root = started.headers["location"].split("/dev-issuer/")[0]
    back = browser.post(f"{root}/dev-issuer/authorize", data=form)
    assert back.status_code == 303, back.text
    return browser.get(back.headers["location"])


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def test_a_citizens_session_serves_both_nodes_and_ends_on_both(
    nodes: tuple[str, str], browser: httpx.Client
) -> None:
    a, b = nodes
    landed = log_in(browser, begin_on=b, persona="citizen")  # the callback goes to A
    assert landed.request.url.port == int(a.rsplit(":", 1)[1])
    assert landed.status_code == 303 and landed.headers["location"] == "/"
    for node in (a, b, a):
        page = browser.get(f"{node}/citizen")
        assert page.status_code == 200 and "Cecilie Innbygger" in page.text, node
    logged_out = browser.post(f"{b}/logout", data={"csrf_token": csrf_of(page)})
    assert logged_out.status_code == 303
    for node in (a, b):
        gone = browser.get(f"{node}/citizen")
        assert gone.status_code == 303 and gone.headers["location"] == "/", node


def test_a_clinicians_declared_purpose_holds_on_the_other_node(
    nodes: tuple[str, str], browser: httpx.Client
) -> None:
    a, b = nodes
    log_in(browser, begin_on=a, persona="gp")
    token = csrf_of(browser.get(f"{b}/clinician"))
    form = {"csrf_token": token, "purpose": "ETREAT", "reason": "Bevisstløs ved ankomst",
            "national_id": CITIZEN_FNR}  # fmt: skip
    found = browser.post(f"{b}/clinician/find", data=form)  # new tokens, kept by B
    assert found.status_code == 303, found.text
    assert found.headers["location"] == "/clinician/patient/persona-citizen"
    page = browser.get(f"{a}{found.headers['location']}")  # read on A
    assert page.status_code == 200 and "Cecilie Innbygger" in page.text
    assert "Bevisstløs ved ankomst" in page.text and 'role="alert"' in page.text
    assert csrf_of(page) == token  # one session, whichever node answers


def test_a_forged_or_foreign_session_cookie_is_no_session_on_either_node(
    nodes: tuple[str, str], browser: httpx.Client
) -> None:
    a, b = nodes
    log_in(browser, begin_on=a, persona="citizen")
    name = "samhandling-session"
    value = browser.cookies.get(name)
    assert value is not None
    for forged in (altered_signature(value), "x" * len(value)):
        browser.cookies.set(name, forged)
        for node in (a, b):
            assert browser.get(f"{node}/citizen").status_code == 303
