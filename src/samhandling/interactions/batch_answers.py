"""Conditional creates of a batch chunk searched before its first write, and when such an
answer still holds.

A search inside a write transaction first inserts the index rows queued so far
(`store/index_buffer.py`): a chunk whose every entry searches before it writes would insert
them entry by entry. So the chunk searches the criteria of its conditional creates when
it begins, and an entry uses that answer only while it is the answer a search at its turn
would give: while no entry kept before it wrote anything a search of its criteria could
find or lose. The test is deliberately coarse, and only ever sends an entry to search
again (correct, only dearer):

* only criteria that are one `identifier=system|value` (no modifier, no list, no escape)
  are searched early;
* any kept write of a SearchParameter (it may change what a search means), and any kept
  update, patch or delete of the criteria's type, spoils every early answer of that type;
* a kept create of the criteria's type spoils it when the created resource has a token
  index row of the criteria's `system|value`, under any parameter: the search matches
  exactly those rows (`search.conditions.token`: equality of system and code) of
  `identifier` or of the parameters it derives from. The rows are those the writer
  extracted (`StoredVersion.index`); a create written without them spoils the type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import parse_qsl

from sqlalchemy import Connection

from samhandling.access_guard import AccessGuard
from samhandling.fhir.outcome import FhirError
from samhandling.interactions.bundle_entries import BundleEntry
from samhandling.interactions.bundle_refs import create_criteria
from samhandling.interactions.conditions import MAX_MATCHES, find_matches
from samhandling.interactions.resource_input import check_resource_type
from samhandling.search.token_matches import plain_token, token_matches
from samhandling.store.records import StoredVersion

_UNSAFE = ('"', "\\", ",", "$")


def identifier_token(criteria: str) -> str | None:
    """The `system|value` of criteria that are exactly one `identifier=system|value` (no
    modifier, no list, no escape); None for any other criteria."""
    items = query_items(criteria)
    if len(items) != 1 or items[0][0] != "identifier":
        return None
    token = items[0][1]
    system, bar, value = token.partition("|")
    if not bar or not system or not value or "|" in value:
        return None
    if any(c in token for c in _UNSAFE) or not value.isprintable():
        return None
    return token


def query_items(criteria: str) -> list[tuple[str, str]]:
    """`parse_qsl(criteria.lstrip("?"), keep_blank_values=True)`, without its work for
    criteria with nothing to unquote and one item (a conditional create's criteria)."""
    query = criteria.lstrip("?")
    if "%" in query or "+" in query or "&" in query:
        return parse_qsl(query, keep_blank_values=True)
    if not query:
        return []
    name, _, value = query.partition("=")
    return [(name, value)]


Token = tuple[str | None, str | None]  # (system, code) of a token index row


class _Early(NamedTuple):
    """One entry's early answer (a named tuple: one made per entry, at half the cost of a
    frozen dataclass)."""

    key: str  # Type?criteria
    resource_type: str
    token: Token
    matches: list[str]


@dataclass
class AnsweredCriteria:
    """The early answers of one chunk and what its kept entries wrote since."""

    early: dict[int, _Early] = field(default_factory=dict)
    spoiled_types: set[str] = field(default_factory=set)
    # type -> the (system, code) of every token index row of its kept creates
    created: dict[str, set[Token]] = field(default_factory=dict)
    early_types: set[str] = field(default_factory=set)  # the types of `early`'s answers

    def search_first(
        self, connection: Connection, guard: AccessGuard, entries: list[BundleEntry]
    ) -> None:
        """Search the criteria of the entries' conditional creates, before any write (the
        chunk holds their locks already): those of one type in one statement
        (`search.token_matches`), else one by one. An entry whose search fails searches
        again at its turn, which answers it with the error."""
        by_type: dict[str, list[tuple[BundleEntry, str, str]]] = {}  # (entry, criteria, token)
        for entry in entries:
            found = _early_criteria(entry)
            if found is not None:
                by_type.setdefault(entry.resource_type, []).append((entry, *found))
        for resource_type, wanted in by_type.items():
            if not self._search_together(connection, guard, resource_type, wanted):
                for entry, criteria, _ in wanted:
                    self._search_alone(connection, guard, entry, criteria)

    def _search_together(
        self,
        connection: Connection,
        guard: AccessGuard,
        resource_type: str,
        wanted: list[tuple[BundleEntry, str, str]],
    ) -> bool:
        """The early answers of one type's entries from one statement; False when it
        cannot give them (the entries are then searched one by one)."""
        tokens = [token for _, _, token in wanted]
        try:
            restriction = guard.conditional_restriction("create", resource_type)
            answers = token_matches(
                connection,
                resource_type,
                "identifier",
                tokens,
                restriction,
                first=MAX_MATCHES,
                most=MAX_MATCHES * len(tokens),
            )
        except FhirError:
            return False
        if answers is None:
            return False
        for entry, criteria, token in wanted:
            key = f"{resource_type}?{criteria}"
            self.early[entry.index] = _Early(key, resource_type, _token(token), answers[token])
        self.early_types.add(resource_type)
        return True

    def _search_alone(
        self, connection: Connection, guard: AccessGuard, entry: BundleEntry, criteria: str
    ) -> None:
        try:
            matches = find_matches(
                connection,
                entry.resource_type,
                criteria,
                lock=False,
                guard=guard,
                interaction="create",
            )
        except FhirError:
            return
        token = identifier_token(criteria)
        assert token is not None
        key = f"{entry.resource_type}?{criteria}"
        self.early[entry.index] = _Early(key, entry.resource_type, _token(token), matches)
        self.early_types.add(entry.resource_type)

    def valid_for(self, entry: BundleEntry) -> dict[str, list[str]]:
        """The entry's early answer ({Type?criteria: matches}) if it still holds, else {}."""
        early = self.early.get(entry.index)
        if early is None or early.resource_type in self.spoiled_types:
            return {}
        if early.token in self.created.get(early.resource_type, ()):
            return {}
        return {early.key: early.matches}

    def note_written(self, versions: list[StoredVersion]) -> None:
        """What a kept entry wrote (every version, the write rules' and operations' too)."""
        for version in versions:
            rtype = version.resource_type
            if rtype == "SearchParameter":
                self.spoiled_types.update(e.resource_type for e in self.early.values())
            elif version.method != "create" or version.content is None:
                self.spoiled_types.add(rtype)
            elif rtype in self.early_types:
                if version.index is None:  # its rows not at hand: coarse
                    self.spoiled_types.add(rtype)
                    continue
                tokens = self.created.setdefault(rtype, set())
                tokens.update([(row.system, row.code) for row in version.index.tokens])


def _token(token: str) -> Token:
    """The (system, code) a search of `token` (`system|value`, no escapes) matches."""
    parsed = plain_token(token)
    return parsed.system, parsed.code


def _early_criteria(entry: BundleEntry) -> tuple[str, str] | None:
    """(criteria, `system|value` token) of a conditional create searched early, else None."""
    if entry.method != "POST" or len(entry.path) != 1:
        return None
    try:
        criteria = create_criteria(entry)
        token = identifier_token(criteria) if criteria else None
        if criteria is None or token is None:
            return None
        check_resource_type(entry.resource_type)
    except FhirError:
        return None
    return criteria, token
