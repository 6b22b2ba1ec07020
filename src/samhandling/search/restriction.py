"""What a caller may see of a search: the hook the trust framework's policy fills in.

A ``SearchRestriction`` narrows every part of a search — matches, chained and reverse-chained
targets, ``_include``/``_revinclude`` and compartment searches — so that no part of the
answer depends on a resource the caller may not see (see docs/SEARCH.md, "Restrictions").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["SearchRestriction"]


@dataclass(frozen=True)
class SearchRestriction:
    """Limits on what a search may return.

    * ``patient_ids``: when set, only resources in the patient compartments of these
      patients (table ``compartment``) are returned; Patient resources by their own id.
      Resources outside every patient compartment (Organization, Practitioner …) are then
      not returned either.
    * ``hidden``: a resource for which it returns True is dropped from matches, includes and
      the targets of chains and ``_has``. It is called with the resource as a dict, for
      more resources than the Bundle returns (the look-ahead match of a page, a chain's
      targets): it must not note a resource as shown, nor change it (a match's Bundle
      entry shows the dict its test was given).
    * ``shown``: called with each resource the Bundle returns (matches and includes, whole,
      before ``_summary``/``_elements`` shape them), so that the caller's audit record
      names exactly what it was given.
    * ``owner``: who the restriction is for (e.g. the principal's id); a cached result page
      is only served to a request with the same owner and the same restriction.
    * ``hidden_uncounted``: the same test as ``hidden`` without its side effects (``hidden``
      may keep its decision for the audit record); the default ``total`` counts the matches
      beyond the page with it (``paging.TOTAL_THRESHOLD``). Without it, ``hidden``.
    * ``withheld_label``: when set (e.g. "documents"), the first page of a search whose
      visible total is known says how many matches ``hidden`` withheld, as an informational
      issue ("2 documents withheld") in the Bundle's OperationOutcome entry — never which.
    * ``reads``: the top-level elements ``hidden``, ``hidden_uncounted`` and ``shown`` read
      of a resource of a type, or None (and without it): possibly any. A resource only
      judged, or shown as its stored bytes, is then judged from its policy facts when those
      keep every element read (``visibility``; docs/SEARCH.md, "Policy facts").
    """

    patient_ids: frozenset[str] | None = None
    hidden: Callable[[dict[str, Any]], bool] | None = None
    owner: str | None = None
    hidden_uncounted: Callable[[dict[str, Any]], bool] | None = None
    shown: Callable[[dict[str, Any]], None] | None = None
    withheld_label: str | None = None
    reads: Callable[[str], frozenset[str] | None] | None = None

    def fingerprint(self) -> str:
        """A stable key for the restriction, binding cached search results to it."""
        patients = "*" if self.patient_ids is None else ",".join(sorted(self.patient_ids))
        hidden = "" if self.hidden is None else "hidden"
        text = f"{patients}\n{hidden}\n{self.owner or ''}"
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

    def is_hidden(self, resource: dict[str, Any]) -> bool:
        return self.hidden is not None and bool(self.hidden(resource))

    def note_shown(self, resource: dict[str, Any]) -> None:
        """`resource` is returned to the caller (``shown``)."""
        if self.shown is not None:
            self.shown(resource)

    def for_counting(self) -> SearchRestriction:
        """This restriction with the side-effect-free test, for counting matches not shown."""
        if self.hidden_uncounted is None:
            return self
        return replace(self, hidden=self.hidden_uncounted)


UNRESTRICTED = SearchRestriction()
