"""Classic R4 criteria subscriptions (`Subscription.criteria` = a search such as
`Observation?patient=123&code=http://loinc.org|718-7`), for clients that know no topics.

A useful subset is honoured, judged on the written resource with the platform's search
semantics (its index values, `fhir.indexing`, as search reads them):

- the resource type (any the server stores); created or updated resources (a deleted one
  no longer matches a search);
- `patient` and `subject` naming a Patient (`123` or `Patient/123`);
- any token parameter of the type (e.g. `code`, `status`, `category`), with `system|code`,
  `code`, `|code` or `system|`, and a comma for "any of".

Anything else (other parameters, modifiers, chains, `_has`, prefixes) is refused at
creation with the reason naming what is supported, never accepted and ignored. A classic
notification carries no content: the server POSTs an empty body to the endpoint (R4: "If
the payload is not present, then there is no payload in the notification"), so a
`channel.payload` (the whole resource) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from samhandling.fhir.derived_parameters import row_answers
from samhandling.fhir.indexing.values import extract_index_values
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.search_parameters import default_registry
from samhandling.services.subscription_topic import Topic

#: the topic column of a classic subscription: this prefix and the resource type
CLASSIC = "classic:"
#: the payload of a classic subscription: an empty POST
NO_PAYLOAD = "none"
PATIENT_PARAMETERS = ("patient", "subject")
SUPPORTED = (
    "the resource type, patient or subject (a Patient), and token parameters of the type "
    "(e.g. code, status, category) as system|code, code, |code or system|, comma for any of"
)
_TYPE = re.compile(r"[A-Z][A-Za-z]+")


def is_classic(criteria: str) -> bool:
    """Whether `criteria` is a classic search (`Type` or `Type?…`) rather than a topic."""
    return _TYPE.fullmatch(criteria.partition("?")[0]) is not None


def _refuse(reason: str) -> FhirError:
    return FhirError(
        422,
        [
            error(
                "business-rule",
                f"{reason}; classic criteria support {SUPPORTED}",
                "Subscription.criteria",
            )
        ],
    )


def parse_criteria(criteria: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The resource type and parameters of a classic criteria, or a 422 with the reason."""
    resource_type, _, query = criteria.partition("?")
    registry = default_registry()
    if resource_type not in registry.resource_types:
        raise _refuse(f"unknown resource type {resource_type!r}")
    found = []
    for part in filter(None, query.split("&")):
        name, eq, value = part.partition("=")
        if not eq or not value:
            raise _refuse(f"{part!r} has no value")
        parameter = registry.get(resource_type, name)
        token = parameter is not None and parameter.type == "token"
        if name not in PATIENT_PARAMETERS and not token:
            raise _refuse(f"parameter {name!r} is not supported")
        if name in PATIENT_PARAMETERS and parameter is None:
            raise _refuse(f"{resource_type} has no parameter {name!r}")
        if name in PATIENT_PARAMETERS:
            value = value.removeprefix("Patient/")
        found.append((name, value))
    return resource_type, tuple(found)


def classic_topic(key: str) -> Topic | None:
    """The topic a classic subscription's key (`classic:<type>`) stands for, or None."""
    if not key.startswith(CLASSIC):
        return None
    resource_type = key.removeprefix(CLASSIC)
    return Topic(
        f"classic-{resource_type}",
        f"Classic criteria on {resource_type}",
        "A classic R4 criteria subscription.",
        (resource_type,),
        filters=(),
    )


def matches(parameters: Sequence[tuple[str, str]], content: dict[str, Any]) -> bool:
    """Whether `content` matches every parameter (the search's AND of ORs)."""
    if not parameters:
        return True
    index = extract_index_values(content)
    derived = default_registry().derived(index.resource_type)
    for name, value in parameters:
        alternatives = value.split(",")
        derivation = derived.get(name)  # `patient` is answered by `subject` rows
        if name in PATIENT_PARAMETERS:
            found = any(
                row_answers(name, derivation, r.param, r.target_type)
                and r.target_type == "Patient"
                and r.target_id in alternatives
                for r in index.references
            )
        else:
            found = any(
                row_answers(name, derivation, t.param)
                and _token_matches(t.system, t.code, alternatives)
                for t in index.tokens
            )
        if not found:
            return False
    return True


def _token_matches(system: str | None, code: str | None, alternatives: list[str]) -> bool:
    for wanted in alternatives:
        if "|" not in wanted:
            if code == wanted:
                return True
            continue
        wanted_system, _, wanted_code = wanted.partition("|")
        if not wanted_system and system is None and code == wanted_code:
            return True
        if wanted_system and system == wanted_system and (not wanted_code or code == wanted_code):
            return True
    return False
