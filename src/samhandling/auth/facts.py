"""What the policy reads of a resource it judges for a read or a search: whether a search may
judge it from its policy facts, a pruned copy kept at write time (docs/SEARCH.md, "Policy
facts"), and which elements those must hold.

Pure: the caller compares the answer with the elements a stored facts document kept.
"""

from __future__ import annotations

from samhandling.auth.access_rules import ANY_TYPE, AccessRule
from samhandling.auth.principal import Principal
from samhandling.fhir.judged_elements import JUDGED_ELEMENTS


def policy_reads(
    principal: Principal, resource_type: str, rules: tuple[AccessRule, ...]
) -> frozenset[str] | None:
    """The top-level elements `decide` may read of a `resource_type` resource judged for a
    read by `principal` under the services' access `rules`; None when it may read any: a
    SMART scope with a query on the type (`scopes.query_matches` reads the elements the
    query names, and a search narrowed by it judges each resource on them) or a rule that
    does not declare its reads."""
    scopes = principal.scopes.clinical
    if any(s.query and s.resource_type in ("*", resource_type) for s in scopes):
        return None
    reads = set(JUDGED_ELEMENTS)  # what `decide` itself reads of every resource
    for rule in rules:
        declared = getattr(rule, "reads", None)
        if declared is None:
            return None
        reads.update(declared.get(resource_type, ()), declared.get(ANY_TYPE, ()))
    return frozenset(reads)
