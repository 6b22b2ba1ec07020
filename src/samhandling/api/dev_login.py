"""The development issuer's login page, wired to the database: the people a tester may log
in as, and the Patient id of a launch patient (dev only: the issuer never runs in
production). Reads through the interactions, like every handler."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from samhandling.auth import DevIssuer
from samhandling.auth.dev.authorization import AuthorizationServer
from samhandling.config import Settings
from samhandling.identifiers.identifier_systems import FNR_SYSTEM
from samhandling.interactions import search
from samhandling.interactions.patient_identity import patient_ids_for_pids
from samhandling.interactions.transactions import read_transaction

LOGIN_PEOPLE = 40
WEB_CALLBACK = "/login/callback"
SMART_APPS = "smart-apps.json"


def authorization_server(dev: DevIssuer, engine: Engine, settings: Settings) -> AuthorizationServer:
    """The code flow of the dev issuer, with the platform's web views registered as a
    confidential client (their secret is the issuer's `web_client_secret`)."""

    def people() -> list[tuple[str, str, str]]:
        with read_transaction(engine) as connection:
            bundle = search.search(
                connection, "Patient", [("_count", str(LOGIN_PEOPLE))], settings.base_url
            )
        found = []
        for entry in bundle.get("entry", []):
            patient = entry["resource"]
            fnr = next(
                (
                    i.get("value")
                    for i in patient.get("identifier", [])
                    if i.get("system") == FNR_SYSTEM
                ),
                None,
            )
            name = (patient.get("name") or [{}])[0]
            shown = " ".join([*name.get("given", []), name.get("family", "")]).strip()
            if fnr:
                found.append((fnr, shown or "?", patient.get("birthDate", "?")))
        return found

    def patient_id_of(fnr: str) -> str | None:
        with read_transaction(engine) as connection:
            return patient_ids_for_pids(connection, [fnr]).get(fnr)

    def children_of(parent_fnr: str) -> list[str]:
        items = [
            ("identifier", f"{FNR_SYSTEM}|{parent_fnr}"),
            ("_include", "RelatedPerson:patient"),
        ]
        with read_transaction(engine) as connection:
            bundle = search.search(connection, "RelatedPerson", items, settings.base_url)
        return [
            fnr
            for entry in bundle.get("entry", [])
            if entry["resource"]["resourceType"] == "Patient"
            and (fnr := national_id(entry["resource"])) is not None
        ]

    codes = AuthorizationServer(
        dev, people=people, patient_id_of=patient_id_of, children_of=children_of
    )
    codes.register(
        settings.web_client_id,
        (settings.public_root + WEB_CALLBACK,),
        dev.web_client_secret(),
    )
    for client_id, client in smart_apps(dev.directory / SMART_APPS).items():
        codes.register(client_id, client[0], client[1])
    return codes


def national_id(patient: dict[str, Any]) -> str | None:
    """The person's fødselsnummer, if the record has one."""
    identifiers = patient.get("identifier", [])
    return next((i.get("value") for i in identifiers if i.get("system") == FNR_SYSTEM), None)


def smart_apps(path: Path) -> dict[str, tuple[tuple[str, ...], str | None]]:
    """SMART apps registered with the dev issuer's code flow: `smart-apps.json` beside its
    key, `{"client_id": {"redirect_uris": [...], "secret": "..."}}` (no secret: a public
    client, PKCE its only proof)."""
    if not path.exists():
        return {}
    document = json.loads(path.read_text())
    apps = {}
    for client_id, client in document.items() if isinstance(document, dict) else []:
        uris = client.get("redirect_uris") if isinstance(client, dict) else None
        if isinstance(uris, list) and all(isinstance(u, str) for u in uris):
            secret = client.get("secret")
            apps[str(client_id)] = (tuple(uris), secret if isinstance(secret, str) else None)
    return apps
