"""The development issuer's login page, wired to the database: the people a tester may log
in as, and the Patient id of a launch patient (dev only: the issuer never runs in
production). Reads through the interactions, like every handler."""

from __future__ import annotations

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

    codes = AuthorizationServer(dev, people=people, patient_id_of=patient_id_of)
    codes.register(
        settings.web_client_id,
        (settings.public_root + WEB_CALLBACK,),
        dev.web_client_secret(),
    )
    return codes
