"""A resource's policy facts: a pruned copy of its current version, kept at write time next
to its content (`resource.facts`), from which a search judges it without parsing the whole
resource (docs/SEARCH.md, "Policy facts").

The document is `[kept, pruned]`: `pruned` is the resource with only its top-level elements
named in `kept` (the same shape, so the policy runs on it unchanged), `kept` the sorted
names this writer kept for the type, whether or not the resource has them. A reader uses
the facts only when every element its judging reads is in `kept`
(`search/visibility.py`), so a rule that reads more than a writer kept — a service added
since, a rule that reads a new element, a changed compartment parameter — falls back to
the content instead of judging on a copy that lacks it.

What is kept: whose the resource is (the elements the patient compartment's parameters
start from, and those the policy takes a patient from), its labels (`meta`,
`securityLabel`, `confidentiality`), its status (`status`, `verificationStatus`: entered in
error) and, per type, what the shipped services' access rules read of it on a read
(`ALSO_KEPT`; each rule declares its reads, `auth.access_rules.AccessRule.reads`, and a
test holds the declarations within this table).
"""

from __future__ import annotations

from typing import Any

import orjson

from samhandling.fhir.compartment import compartment_elements
from samhandling.fhir.search_parameters import default_registry

#: kept for every type: identity, labels, status, and the policy's patient elements
KEPT = frozenset(
    {
        "resourceType",
        "id",
        "meta",
        "status",
        "verificationStatus",
        "securityLabel",
        "confidentiality",
        "subject",
        "patient",
        "beneficiary",
        "securityContext",
        "criteria",
        "_criteria",
    }
)
_LAB_RESULT = frozenset({"category", "code", "issued"})  # the lab results' release delay
#: kept for these types besides: what the shipped services' access rules read on a read
ALSO_KEPT: dict[str, frozenset[str]] = {
    "DiagnosticReport": _LAB_RESULT,
    "Observation": _LAB_RESULT,
    "Specimen": _LAB_RESULT,
    "Subscription": frozenset({"extension"}),  # the owner's key (notifications)
}

_KEPT_BY_TYPE: dict[tuple[int, str], tuple[frozenset[str], list[str]]] = {}


def kept_elements(resource_type: str) -> frozenset[str]:
    """The top-level elements the facts of a `resource_type` resource keep."""
    return _kept(resource_type)[0]


def _kept(resource_type: str) -> tuple[frozenset[str], list[str]]:
    """The kept elements, as a set and as the sorted list the document names."""
    key = (default_registry().generation, resource_type)
    found = _KEPT_BY_TYPE.get(key)
    if found is None:
        names = KEPT | compartment_elements(resource_type) | ALSO_KEPT.get(resource_type, set())
        found = _KEPT_BY_TYPE[key] = (frozenset(names), sorted(names))
    return found


def facts_of(resource_type: str, body: dict[str, Any]) -> bytes | None:
    """The facts document of `body`, a resource as stored (its `meta` filled in); None
    when orjson cannot write what it kept (an integer beyond 64 bits): judged from content."""
    keep, names = _kept(resource_type)
    pruned = {name: value for name, value in body.items() if name in keep}
    try:
        return orjson.dumps([names, pruned], default=_written_decimal)
    except orjson.JSONEncodeError:
        return None


def _written_decimal(value: Any) -> Any:
    """A decimal kept as written (`json_codec.WrittenDecimal`) as a float: no access
    decision reads a number's written form, and a search's judged-only parse reads floats."""
    return float(value)


def read_facts(document: bytes) -> tuple[list[str], dict[str, Any]]:
    """The kept names and the pruned resource of a facts document."""
    kept, pruned = orjson.loads(document)
    return kept, pruned
