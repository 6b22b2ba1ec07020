"""Who registered, last updated and last confirmed an entry, as the server records it.

The stamps are extensions (`kj-registered`, `kj-last-updated`, `kj-last-confirmed`) that the
server writes from the verified access token: a client cannot claim to be somebody else.
Only trusted internal callers (the demo loader, imports) may bring their own stamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from samhandling.auth.principal import Principal
from samhandling.identifiers.identifier_systems import HPR_SYSTEM, ORGANISATION_NUMBER_SYSTEM
from samhandling.profiles import PROFILE_BASE

REGISTERED = PROFILE_BASE + "kj-registered"
LAST_UPDATED = PROFILE_BASE + "kj-last-updated"
LAST_CONFIRMED = PROFILE_BASE + "kj-last-confirmed"
ENTERED_IN_ERROR_REASON = PROFILE_BASE + "kj-entered-in-error-reason"
INFORMATION_SOURCE = PROFILE_BASE + "kj-information-source"
VALID_UNTIL = PROFILE_BASE + "kj-valid-until"
STAMPS = (REGISTERED, LAST_UPDATED, LAST_CONFIRMED)
AUTHORIZATION_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.9060"


@dataclass(frozen=True)
class Actor:
    """Who acted: the health professional, their organisation and the client system."""

    hpr_number: str | None
    name: str | None
    authorization: str | None
    orgnr: str | None
    organisation_name: str | None
    system: str | None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The actor a verified access token speaks for."""
        att = principal.attestation
        return cls(
            principal.hpr_number,
            principal.name,
            att.authorization_code if att else None,
            principal.organisation.legal_entity,
            principal.organisation.legal_entity_name,
            principal.client.client_name or principal.client.client_id,
        )


def stamp(url: str, actor: Actor, at: str) -> dict[str, Any]:
    """A stamp extension saying that `actor` acted at `at` (a FHIR dateTime)."""
    parts: list[tuple[str, str, Any]] = [
        ("practitioner", "valueIdentifier", _identifier(HPR_SYSTEM, actor.hpr_number)),
        ("practitionerName", "valueString", actor.name),
        ("authorization", "valueCoding", _authorization(actor.authorization)),
        ("organization", "valueIdentifier", _identifier(ORGANISATION_NUMBER_SYSTEM, actor.orgnr)),
        ("organizationName", "valueString", actor.organisation_name),
        ("system", "valueString", actor.system),
        ("time", "valueDateTime", at),
    ]
    return {
        "url": url,
        "extension": [{"url": name, key: value} for name, key, value in parts if value],
    }


def _identifier(system: str, value: str | None) -> dict[str, str] | None:
    return {"system": system, "value": value} if value else None


def _authorization(code: str | None) -> dict[str, str] | None:
    return {"system": AUTHORIZATION_SYSTEM, "code": code} if code else None


def extensions(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """The resource's extensions with this URL."""
    return [e for e in resource.get("extension", []) if e.get("url") == url]


def replace_extension(resource: dict[str, Any], url: str, new: list[dict[str, Any]]) -> None:
    """Put `new` in place of the resource's extensions with this URL."""
    kept = [e for e in resource.get("extension", []) if e.get("url") != url]
    if kept or new:
        resource["extension"] = kept + new
    else:
        resource.pop("extension", None)


def stamp_time(extension: dict[str, Any]) -> str | None:
    """The `time` part of a stamp."""
    for part in extension.get("extension", []):
        if part.get("url") == "time":
            value = part.get("valueDateTime")
            return value if isinstance(value, str) else None
    return None
