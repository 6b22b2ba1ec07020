"""Identity inside a transaction: ids for new entries, `urn:uuid:` and conditional references."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Connection

from samhandling.access_guard import OPEN_ACCESS, AccessGuard
from samhandling.fhir import json_codec
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.references import (
    parse_conditional_reference,
    reference_holders,
    rewrite_attachment_urls,
    rewrite_references,
)
from samhandling.interactions.bundle_entries import BundleEntry
from samhandling.interactions.conditions import conditional_lock_key, find_matches
from samhandling.interactions.crud import new_id
from samhandling.interactions.resource_input import check_resource_type
from samhandling.store.advisory_locks import lock_keys


@dataclass(frozen=True)
class Assignment:
    """The id an entry writes to, and whether it matched an existing resource."""

    resource_id: str
    existing: bool


def create_criteria(entry: BundleEntry) -> str | None:
    """A POST entry's conditional-create criteria: `ifNoneExist`, or the url's query
    (`Patient?identifier=…`); both must agree, else 400."""
    header = entry.request.get("ifNoneExist")
    if header and entry.query and parse_qsl(str(header).lstrip("?")) != parse_qsl(entry.query):
        raise FhirError(400, error("invalid", "The url's query and ifNoneExist differ"))
    return str(header) if header else (entry.query or None)


def conditional_writes(entries: list[BundleEntry], *, strict: bool = True) -> set[tuple[str, str]]:
    """(type, criteria) of every conditional write among `entries`; an entry whose criteria
    are malformed raises when `strict`, else is left out (a batch answers it alone)."""
    keys = set()
    for entry in entries:
        try:
            criteria = create_criteria(entry) if entry.method == "POST" else None
        except FhirError:
            if strict:
                raise
            continue
        if criteria:
            keys.add((entry.resource_type, criteria))
        elif entry.method in ("PUT", "DELETE") and len(entry.path) == 1 and entry.query:
            keys.add((entry.resource_type, entry.query))
    return keys


class ReferenceResolver:
    """Collects fullUrl → `Type/id` and conditional reference → `Type/id` for rewriting.

    `answered`: conditional-write criteria (`Type?criteria`) already searched, with their
    matches; `locked`: those whose lock the transaction already holds (a batch's chunk
    answers and locks them before its first entry runs)."""

    def __init__(
        self,
        connection: Connection,
        guard: AccessGuard = OPEN_ACCESS,
        *,
        answered: dict[str, list[str]] | None = None,
        locked: frozenset[str] = frozenset(),
    ) -> None:
        self.connection = connection
        self.guard = guard
        self.mapping: dict[str, str] = {}
        self.assignments: dict[int, Assignment] = {}
        self._criteria: dict[str, Assignment] = {}
        self._answered = answered or {}
        self._locked = locked

    def lock_conditional_writes(self, entries: list[BundleEntry]) -> None:
        """Take the locks of every conditional write of a transaction at once, in one order,
        in one statement.

        Each lock is otherwise taken when its entry runs; two transactions whose conditional
        creates name the same criteria in a different order would then deadlock.
        """
        keys = [f"{rtype}?{criteria}" for rtype, criteria in conditional_writes(entries)]
        lock_keys(self.connection, [conditional_lock_key(*k.split("?", 1)) for k in keys])
        self._locked = self._locked | frozenset(keys)

    def assign_id(self, entry: BundleEntry) -> None:
        """Decide the id of a POST (or conditional PUT) entry before anything is written."""
        if entry.method not in ("POST", "PUT") or not entry.path:
            return
        check_resource_type(entry.resource_type)
        if entry.method == "POST":
            assignment = self._post_assignment(entry)
        elif len(entry.path) >= 2:
            assignment = Assignment(entry.path[1], existing=False)
        elif entry.query:
            assignment = self._conditional(entry.resource_type, entry.query, "update")
        else:
            raise FhirError(400, error("invalid", "PUT needs an id or search criteria"))
        self.assignments[entry.index] = assignment
        if entry.full_url:
            self.mapping[entry.full_url] = f"{entry.resource_type}/{assignment.resource_id}"

    def _post_assignment(self, entry: BundleEntry) -> Assignment:
        criteria = create_criteria(entry)
        if not criteria:
            return Assignment(new_id(), existing=False)
        return self._conditional(entry.resource_type, criteria, "create")

    def _conditional(self, resource_type: str, criteria: str, interaction: str) -> Assignment:
        key = f"{resource_type}?{criteria}"
        if key in self._criteria:
            # R4 §3.1.0.11.2: "If any resource identities (including resolved identities
            # from conditional update/delete) overlap in steps 1-3, then the transaction
            # SHALL fail."
            message = f"Two entries write the resource of the same criteria {key}"
            raise FhirError(400, error("invalid", message))
        matches = self._answered.get(key)
        if matches is None:
            matches = find_matches(
                self.connection,
                resource_type,
                criteria,
                lock=key not in self._locked,
                guard=self.guard,
                interaction=interaction,
            )
        if len(matches) > 1:
            raise FhirError(412, error("multiple-matches", f"{key} matched more than one resource"))
        assignment = (
            Assignment(matches[0], existing=True) if matches else Assignment(new_id(), False)
        )
        self._criteria[key] = assignment
        return assignment

    def rewrite(self, resource: dict[str, Any]) -> None:
        """Resolve the conditional references of `resource`, then rewrite in it every
        reference, narrative link and attachment URL the Bundle maps: one walk of the
        resource for both (each was ≈ 10% of a transaction's CPU); a transaction's and a
        batch's entries alike."""
        if not self.mapping and not _may_hold_criteria(resource):
            return
        holders = reference_holders(resource)
        self._resolve(holder for kind, holder in holders if kind == "reference")
        rewrite_references(resource, self.mapping, holders)
        rewrite_attachment_urls(resource, self.mapping)

    def _resolve(self, holders: Iterable[dict[str, Any]]) -> None:
        for holder in holders:
            reference = holder["reference"]
            if reference in self.mapping:
                continue
            parsed = parse_conditional_reference(reference)
            if parsed is None:
                continue
            resource_type, criteria = parsed
            key = f"{resource_type}?{criteria}"
            known = self._criteria.get(key)
            if known is None:
                known = self._only_match(reference, resource_type, criteria)
                self._criteria[key] = known
            self.mapping[reference] = f"{resource_type}/{known.resource_id}"

    def _only_match(self, reference: str, resource_type: str, criteria: str) -> Assignment:
        # Only read: no lock, so Bundles naming the same shared resources in a different
        # order cannot deadlock on each other.
        matches = find_matches(
            self.connection, resource_type, criteria, lock=False, guard=self.guard
        )
        if len(matches) != 1:
            found = "no" if not matches else "more than one"
            message = f"Conditional reference {reference} matched {found} resource"
            raise FhirError(412, error("not-found", message))
        return Assignment(matches[0], existing=True)


def _may_hold_criteria(resource: dict[str, Any]) -> bool:
    """False when no string of `resource` has a `?`, so no reference in it is conditional:
    its JSON text, made in C, is searched instead of walking its References by the model
    (≈ 3% of a measurement batch's CPU; a batch's entries seldom have one)."""
    try:
        return b"?" in json_codec.dump(resource)
    except TypeError:  # not plain JSON (orjson.JSONEncodeError is one): walk it
        return True
