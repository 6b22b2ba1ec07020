"""A request's access decisions on the resources a search judges, remembered by what they
read (docs/SEARCH.md, "Decisions remembered per request").

A first page judges 100–150 resources (the page, then up to `paging.TOTAL_THRESHOLD` more to
count the `total`), and the many Observations of one patient, alike in their labels, status
and patient, get the same decision: the policy reads nothing else of them
(`auth.facts.decision_reads`, held by a recording test). So one decision is made per
projection of a resource onto those elements, and shared by the resources alike in them.

Held by one guard (one request, one principal, one set of service rules): no decision is
ever shared between callers. Emergency access, a SMART scope with a query, and a service
rule that does not declare its reads are decided resource by resource.
"""

from __future__ import annotations

from typing import Any

import orjson

from samhandling.auth import Decision, Principal, ServiceRules, decide
from samhandling.auth.facts import decision_reads
from samhandling.auth.labels import META_READS

#: remembered decisions per request at most (a search judges up to 30,000 resources)
MAX_REMEMBERED = 4096


class DecisionMemo:
    """`decide` for one principal under one set of rules, remembered by what it reads."""

    def __init__(self, principal: Principal, service_rules: ServiceRules) -> None:
        self.principal = principal
        self.service_rules = service_rules
        self.made = 0  # decisions made (by `decide`), remembered or not
        self._reads: dict[str, tuple[str, ...] | None] = {}  # by type
        self._known: dict[tuple[str, bytes], Decision] = {}

    def decide(self, interaction: str, resource: dict[str, Any]) -> Decision:
        """The decision on `resource` (a resource as parsed from stored JSON): the one made
        for a resource alike in every element the policy reads, else a new one."""
        key = self._key(resource)
        found = None if key is None else self._known.get((interaction, key))
        if found is None:
            found = self._decide(interaction, resource)
            if key is not None and len(self._known) < MAX_REMEMBERED:
                self._known[(interaction, key)] = found
        return found

    def _decide(self, interaction: str, resource: dict[str, Any]) -> Decision:
        self.made += 1
        return decide(
            self.principal,
            interaction,
            resource.get("resourceType"),
            resource=resource,
            service_rules=self.service_rules,
        )

    def _key(self, resource: dict[str, Any]) -> bytes | None:
        """`resource` projected onto what the policy reads of its type (of `meta`, only
        its labels: its version and time differ on every resource), as JSON; None when the
        policy may read anything, or orjson cannot write a value (it is then decided)."""
        rtype = resource.get("resourceType")
        reads = self._elements(rtype) if isinstance(rtype, str) else None
        if reads is None:
            return None
        projected = {name: resource[name] for name in reads if name in resource}
        meta = projected.get("meta")
        if isinstance(meta, dict):
            projected["meta"] = {name: meta[name] for name in META_READS if name in meta}
        try:
            return orjson.dumps(projected)
        except orjson.JSONEncodeError:
            return None

    def _elements(self, resource_type: str) -> tuple[str, ...] | None:
        """What the policy reads of a `resource_type` resource for this caller, in a fixed
        order; None: possibly anything (or emergency access: each resource decided)."""
        if resource_type not in self._reads:
            reads = None
            if not self.principal.is_emergency:
                rules = self.service_rules.access_rules
                reads = decision_reads(self.principal, resource_type, rules)
            self._reads[resource_type] = None if reads is None else tuple(sorted(reads))
        return self._reads[resource_type]
