"""A resource's policy facts: a pruned copy of its current version, kept at write time next
to its content (`resource.facts`), from which a search judges it without parsing the whole
resource (docs/SEARCH.md, "Policy facts").

The document is `[tag, pruned]`: `pruned` is the resource with only the top-level elements
this writer keeps for the type (the same shape, so the policy runs on it unchanged), `tag`
a digest naming that set of elements. A reader uses the facts only when the tag names the
set its own code keeps and every element its judging reads is in it
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

import hashlib
from typing import Any

import orjson

from samhandling.fhir.compartment import compartment_elements
from samhandling.fhir.judged_elements import JUDGED_ELEMENTS
from samhandling.fhir.search_parameters import default_registry

_LAB_RESULT = frozenset({"category", "code", "issued"})  # the lab results' release delay
#: kept for these types besides: what the shipped services' access rules read on a read
ALSO_KEPT: dict[str, frozenset[str]] = {
    "DiagnosticReport": _LAB_RESULT,
    "Observation": _LAB_RESULT,
    "Specimen": _LAB_RESULT,
    "Subscription": frozenset({"extension"}),  # the owner's key (notifications)
}

_KEPT_BY_TYPE: dict[tuple[int, str], tuple[frozenset[str], str]] = {}


def kept_elements(resource_type: str) -> frozenset[str]:
    """The top-level elements the facts of a `resource_type` resource keep."""
    return _kept(resource_type)[0]


def _kept(resource_type: str) -> tuple[frozenset[str], str]:
    """The kept elements, and the tag that names this set in a document: a digest of the
    sorted names (a list of them took ≈ 200 bytes of an Observation's facts)."""
    key = (default_registry().generation, resource_type)
    found = _KEPT_BY_TYPE.get(key)
    if found is None:
        names = (
            JUDGED_ELEMENTS
            | compartment_elements(resource_type)
            | ALSO_KEPT.get(resource_type, set())
        )
        digest = hashlib.blake2b("\n".join(sorted(names)).encode(), digest_size=6)
        found = _KEPT_BY_TYPE[key] = (frozenset(names), digest.hexdigest())
    return found


#: facts are kept only when at most this share of the content's size: parsing them must
#: save a judging search most of the content's parse (an Observation under the lab-results
#: rule keeps nearly all of itself — 815 of 839 bytes — and would only add its size again
#: to every write of the largest data set, issue #20's measurements)
MAX_SHARE = 0.5


def facts_of(resource_type: str, body: dict[str, Any], content_size: int) -> bytes | None:
    """The facts document of `body`, a resource as stored (its `meta` filled in) whose
    stored JSON is `content_size` bytes; None (judged from its content) when the facts would
    not be much smaller (`MAX_SHARE`), or when orjson cannot write what they kept (an
    integer beyond 64 bits)."""
    keep, tag = _kept(resource_type)
    pruned = {name: value for name, value in body.items() if name in keep}
    if len(pruned) == len(body):
        return None  # every element kept: the facts would be the content again
    try:
        document = orjson.dumps([tag, pruned], default=_written_decimal)
    except orjson.JSONEncodeError:
        return None
    return document if len(document) <= content_size * MAX_SHARE else None


def _written_decimal(value: Any) -> Any:
    """A decimal kept as written (`json_codec.WrittenDecimal`) as a float: no access
    decision reads a number's written form, and a search's judged-only parse reads floats."""
    return float(value)


def read_facts(resource_type: str, document: bytes) -> tuple[frozenset[str] | None, dict[str, Any]]:
    """The elements a facts document of a `resource_type` resource kept — None when its
    writer kept another set than this code keeps (an older or newer release, a compartment
    parameter changed since): then nobody can tell what it lacks — and its pruned resource."""
    tag, pruned = orjson.loads(document)
    kept, known = _kept(resource_type)
    return (kept if tag == known else None), pruned
