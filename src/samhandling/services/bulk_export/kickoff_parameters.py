"""The kick-off parameters of Bulk Data 2.0 that need more than a value check: which are
known, what `Prefer: handling=strict|lenient` does with the others, and the `patient`
parameter of a Patient- or Group-level kick-off.

Bulk Data 2.0: a server that does not support a parameter SHOULD refuse the request
(strict, the default), and MAY ignore the parameter when the client sent
`Prefer: handling=lenient`. Here an unknown parameter, and a value of
`includeAssociatedData` other than the two Provenance values (a `_custom` one included),
are a 400 in strict handling and are ignored, with a warning in the kick-off's
OperationOutcome and in the manifest's `error` file, in lenient handling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from samhandling.fhir.outcome import FhirError, Issue, error

#: the kick-off parameters this server acts on
SUPPORTED = frozenset(
    {
        "_outputFormat",
        "_since",
        "_type",
        "_elements",
        "_typeFilter",
        "_deidentify",
        "includeAssociatedData",
        "patient",
    }
)
#: general FHIR parameters of every request (the response format), never an export's
GENERAL = frozenset({"_format", "_pretty"})
ASSOCIATED_DATA = "includeAssociatedData"
#: the values of `includeAssociatedData` served here, least restrictive last: Bulk Data
#: 2.0 "if multiple conflicting values are included, the server SHALL apply the least
#: restrictive value"
LATEST, RELEVANT = "LatestProvenanceResources", "RelevantProvenanceResources"
PATIENT = "patient"
_PATIENT_REFERENCE = re.compile(r"^(?:.*/)?Patient/([A-Za-z0-9\-.]{1,64})$")


def lenient(headers: Mapping[str, str]) -> bool:
    """Whether the client asked `Prefer: handling=lenient` (strict is the default)."""
    preferences = [p.strip().replace(" ", "") for p in headers.get("prefer", "").split(",")]
    return "handling=lenient" in preferences


def unsupported(parameters: Mapping[str, list[Any]], headers: Mapping[str, str]) -> list[Issue]:
    """The parameters this server does not act on: a 400 naming them (strict), or the
    warnings for the kick-off's answer when the client asked lenient handling."""
    names = sorted(n for n in parameters if n not in SUPPORTED and n not in GENERAL)
    if not names:
        return []
    if not lenient(headers):
        listed = ", ".join(names)
        message = (
            f"kick-off parameter(s) not supported: {listed} "
            "(send Prefer: handling=lenient to have them ignored)"
        )
        raise FhirError(400, error("not-supported", message, names[0]))
    return [
        Issue("warning", "not-supported", f"{name} is not supported and was ignored", (name,))
        for name in names
    ]


def associated_data(
    parameters: Mapping[str, list[Any]], headers: Mapping[str, str]
) -> tuple[str | None, list[Issue]]:
    """The `includeAssociatedData` value to apply (`RelevantProvenanceResources` over
    `LatestProvenanceResources`; None without either) and the warnings for the values
    ignored under lenient handling. Any other value, a server-defined `_custom` one too
    (this server defines none), is a 400 naming it in strict handling."""
    values = [i.strip() for v in parameters.get(ASSOCIATED_DATA) or () for i in str(v).split(",")]
    values = [v for v in values if v]
    unknown = list(dict.fromkeys(v for v in values if v not in (LATEST, RELEVANT)))
    if unknown and not lenient(headers):
        message = (
            f"{ASSOCIATED_DATA}: value(s) not supported: {', '.join(unknown)} "
            f"(supported: {LATEST}, {RELEVANT}; send Prefer: handling=lenient to have "
            "the others ignored)"
        )
        raise FhirError(400, error("not-supported", message, ASSOCIATED_DATA))
    ignored = [
        Issue(
            "warning",
            "not-supported",
            f"{ASSOCIATED_DATA}={value} is not supported and was ignored",
            (ASSOCIATED_DATA,),
        )
        for value in unknown
    ]
    chosen = RELEVANT if RELEVANT in values else LATEST if LATEST in values else None
    return chosen, ignored


def requested_patients(parameters: Mapping[str, list[Any]], level: str | None) -> list[str] | None:
    """The Patient ids the `patient` parameter names (`valueReference` in a POST body,
    `Patient/{id}` in the query), in order; None without it. 400 for a system-level
    kick-off and for a value that is not a reference to a Patient."""
    values = parameters.get(PATIENT)
    if not values:
        return None
    if level not in ("Patient", "Group"):
        message = "patient is a parameter of Patient- and Group-level exports"
        raise FhirError(400, error("invalid", message, PATIENT))
    found = []
    for value in values:
        reference = value.get("reference") if isinstance(value, dict) else value
        match = _PATIENT_REFERENCE.match(reference) if isinstance(reference, str) else None
        if match is None:
            message = f"patient: {reference!r} is not a reference to a Patient"
            raise FhirError(400, error("invalid", message, PATIENT))
        found.append(match.group(1))
    return list(dict.fromkeys(found))


def refuse_patients(refused: list[str], why: str) -> FhirError:
    """The 400 naming the requested patients the export cannot hold."""
    listed = ", ".join(f"Patient/{p}" for p in refused)
    return FhirError(400, error("not-found", f"patient: {listed} {why}", PATIENT))
