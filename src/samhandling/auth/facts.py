"""What the policy reads of a resource it judges for a read or a search: whether a search may
judge it from its policy facts, a pruned copy kept at write time (docs/SEARCH.md, "Policy
facts"), and which elements those must hold.

`decision_reads` is the precise part of it, per type and kind of caller: a request's guard
remembers its decisions by what they read (`interactions/decision_memo.py`).

Pure: the caller compares the answer with the elements a stored facts document kept.
"""

from __future__ import annotations

from samhandling.auth.access_rules import ANY_TYPE, AccessRule, ElementReads
from samhandling.auth.compartment import patient_reads
from samhandling.auth.labels import label_reads
from samhandling.auth.principal import Principal
from samhandling.fhir.entry_status import STATUS_READS
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


def decision_reads(
    principal: Principal, resource_type: str, rules: tuple[AccessRule, ...]
) -> frozenset[str] | None:
    """What `decide` reads of a `resource_type` resource judged for a read by `principal`,
    exactly (within `policy_reads`, None where that is): two resources alike in these
    elements get the same decision. Only a Patient's `id` is read (its compartment), of
    `meta` only `labels.META_READS`, and of a rule what it reads for this kind of caller
    (`AccessRule.reads_for`, when it says). A test records it (`test_policy_facts.py`)."""
    if policy_reads(principal, resource_type, rules) is None:
        return None
    reads = set(patient_reads(resource_type) | label_reads(resource_type) | STATUS_READS)
    for rule in rules:
        declared = _rule_reads(rule, principal.kind)
        reads.update(declared.get(resource_type, ()), declared.get(ANY_TYPE, ()))
    return frozenset(reads)


def _rule_reads(rule: AccessRule, kind: str) -> ElementReads:
    """What `rule` reads judging a read by a caller of this `kind` (declared by `reads_for`
    when it tells kinds apart, else its `reads`: `policy_reads` returned None without)."""
    reads_for = getattr(rule, "reads_for", None)
    declared = reads_for(kind) if reads_for is not None else rule.reads
    assert declared is not None  # `policy_reads` answered None for an undeclared rule
    return declared
