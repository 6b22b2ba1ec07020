"""The development issuer's login page, wired to the database: the people a tester may log
in as, and the Patient id of a launch patient (dev only: the issuer never runs in
production). Reads through the interactions, like every handler. `dev_issuer` is the
issuer itself, when the settings ask for one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
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
from samhandling.services.identity.powers_of_attorney import is_current

LOGIN_PEOPLE = 40
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
#: The RelatedPerson relationships (v3 RoleCode) that let a citizen act for the patient.
RELATIONS = {
    "PRN": "parent",
    "MTH": "parent",
    "FTH": "parent",
    "POWATT": "power-of-attorney",
    "HPOWATT": "power-of-attorney",
    "DPOWATT": "power-of-attorney",
    "SPOWATT": "power-of-attorney",
}
WEB_CALLBACK = "/login/callback"
SMART_APPS = "smart-apps.json"


def dev_issuer(settings: Settings) -> DevIssuer | None:
    """The development issuer when `settings.dev_issuer` asks for one (it refuses to run in
    production mode), its keys under the data directory; otherwise None."""
    if not settings.dev_issuer:
        return None
    return DevIssuer(settings.data_dir, settings.dev_issuer_url, production=settings.production)


def authorization_server(dev: DevIssuer, engine: Engine, settings: Settings) -> AuthorizationServer:
    """The code flow of the dev issuer, with the platform's web views registered as a
    confidential client (their secret is the issuer's `web_client_secret`)."""
    people = LoginPeople(engine, settings)
    codes = AuthorizationServer(
        dev,
        people=people.people,
        patient_id_of=people.patient_id_of,
        relations_of=people.relations_of,
    )
    codes.register(
        settings.web_client_id,
        (settings.public_root + WEB_CALLBACK,),
        dev.web_client_secret(),
    )
    for client_id, client in smart_apps(dev.directory / SMART_APPS).items():
        codes.register(client_id, client[0], client[1])
    return codes


class LoginPeople:
    """Who a tester may log in as, read from the database: the login page's people, the
    Patient id of a launch patient and the patients a person may act for."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def people(self) -> list[tuple[str, str, str]]:
        """(national ID, name, birth date) of the first Patients that have a national ID."""
        with read_transaction(self.engine) as connection:
            bundle = search.search(
                connection, "Patient", [("_count", str(LOGIN_PEOPLE))], self.settings.base_url
            )
        found = []
        for entry in bundle.get("entry", []):
            patient = entry["resource"]
            fnr = national_id(patient)
            name = (patient.get("name") or [{}])[0]
            shown = " ".join([*name.get("given", []), name.get("family", "")]).strip()
            if fnr:
                found.append((fnr, shown or "?", patient.get("birthDate", "?")))
        return found

    def patient_id_of(self, fnr: str) -> str | None:
        """The id of the Patient with the national ID `fnr`, if one is stored."""
        with read_transaction(self.engine) as connection:
            return patient_ids_for_pids(connection, [fnr]).get(fnr)

    def relations_of(self, fnr: str) -> list[tuple[str, str]]:
        """The patients the person `fnr` may act for, and why (`represented`)."""
        # any system: an attorney with a D-number is named in the D-number system
        items = [("identifier", fnr), ("_include", "RelatedPerson:patient"), ("_count", "200")]
        with read_transaction(self.engine) as connection:
            bundle = search.search(connection, "RelatedPerson", items, self.settings.base_url)
        return represented(bundle, datetime.now(UTC))


def represented(bundle: dict[str, Any], now: datetime) -> list[tuple[str, str]]:
    """(national ID, relation) of the patients whose RelatedPerson records name the person
    searched for: "parent" (v3 RoleCode PRN, MTH, FTH), "power-of-attorney" (POWATT and its
    kinds) when current at `now` by the register's rule (`is_current`: active, within its
    period), as the platform checks it on every request. Other relations (a neighbour, a
    next of kin) give no right to act for anybody."""
    patients: dict[str, str] = {}
    relations: list[tuple[str, str]] = []
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            fnr = national_id(resource)
            if fnr is not None:
                patients[f"Patient/{resource['id']}"] = fnr
        elif resource["resourceType"] == "RelatedPerson" and resource.get("active", True):
            codes = {
                coding.get("code")
                for concept in resource.get("relationship", [])
                for coding in concept.get("coding", [])
                if coding.get("system") == ROLE_CODE
            }
            relation = next((RELATIONS[code] for code in sorted(codes) if code in RELATIONS), None)
            reference = str((resource.get("patient") or {}).get("reference", ""))
            if relation == "power-of-attorney" and not is_current(
                resource, reference.removeprefix("Patient/"), now
            ):
                continue
            if relation is not None:
                relations.append((reference, relation))
    return [(patients[ref], relation) for ref, relation in relations if ref in patients]


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
