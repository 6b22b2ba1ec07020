"""An export of a running server holds the definitions the platform ships (its profiles,
code systems, value sets, OperationDefinitions, SearchParameters:
`interactions/published_definitions.py` writes them into the store at start). They are
read-only through the API, so their copies in the files cannot be imported (405);
`samhandling import` leaves the copies out and publishes the target's own shipped
definitions instead, as its server would at start.
The target then holds the same definitions as the source (the same release) or its own
release's, which is what its server validates against."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from samhandling.definitions.published import Shipped
from samhandling.interactions.published_definitions import publish


class ShippedCopies:
    """Leaves the shipped definitions' copies out of imported Bundles; publishes the
    platform's own the first time it meets one (unless `publish_them` is False)."""

    def __init__(self, engine: Engine, shipped: Shipped, *, publish_them: bool = True) -> None:
        self.engine = engine
        self.shipped = shipped
        self.published = not publish_them

    def left_out(self, bundle: Any) -> tuple[Any, int]:
        """The Bundle without its PUT entries of shipped definitions, and how many."""
        entries = bundle.get("entry") if isinstance(bundle, dict) else None
        if not isinstance(entries, list):
            return bundle, 0
        kept = [entry for entry in entries if not self._is_shipped(entry)]
        skipped = len(entries) - len(kept)
        if skipped and not self.published:
            publish(self.engine, self.shipped)
            self.published = True
        return ({**bundle, "entry": kept} if skipped else bundle), skipped

    def is_copy(self, resource: Any) -> bool:
        """Whether `resource` is a copy of a shipped definition (its type and id)."""
        if not isinstance(resource, dict):
            return False
        return (resource.get("resourceType"), resource.get("id")) in self.shipped

    def _is_shipped(self, entry: Any) -> bool:
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or request.get("method") != "PUT":
            return False
        kind, _, resource_id = str(request.get("url", "")).partition("/")
        return (kind, resource_id) in self.shipped
