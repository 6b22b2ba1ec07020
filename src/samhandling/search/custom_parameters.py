"""Custom SearchParameter resources: added to the registry at run time, without DDL.

A ``SearchParameter`` resource stored through the API (status ``active`` or ``draft``) is
added to the process-wide registry, so that new writes are indexed by it and searches may
use it; ``samhandling reindex`` then indexes the resources written before.

* ``register_written(resource)`` — call after a SearchParameter is written (create/update):
  it validates the resource and adds it to this process's registry at once.
* ``check_search_parameter(resource)`` — call before writing one: a SearchParameter that
  cannot be used (bad expression, unknown base …) is refused with 422.
* ``refresh(connection)`` — called by every search: when the stored SearchParameters have
  changed since this process last looked (another worker wrote one), they are (re)loaded.
  It looks at most once every ``REFRESH_SECONDS`` (one indexed ``max(tx_id)``/``count``
  over the SearchParameter rows), and at once after this process wrote a SearchParameter
  (``SearchParameterWrites``): a parameter another worker adds is seen within a second,
  one this process adds by its next search.

A custom parameter that is deleted or retired stays in the registry of running processes
until they restart (the registry has no removal); its index rows are not consulted by then
unless a search names it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from samhandling.fhir import json_codec
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.search_parameters import (
    InvalidSearchParameterError,
    SearchParameterRegistry,
    default_registry,
)
from samhandling.store.schema import resource
from samhandling.store.version_writer import SearchParameterWrites

log = logging.getLogger("samhandling.search")

USABLE_STATUSES = frozenset({"active", "draft", None})
_lock = threading.Lock()
_seen: dict[tuple[str, int], tuple[int, int]] = {}  # (db url, registry id) -> (max tx, count)
# (db url, registry id) -> (time.monotonic(), SearchParameterWrites.count) of the last look
_looked_at: dict[tuple[str, int], tuple[float, int]] = {}
REFRESH_SECONDS = 1.0


def is_custom(item: Mapping[str, Any], registry: SearchParameterRegistry | None = None) -> bool:
    """True for a usable SearchParameter that is not one of the official definitions."""
    registry = registry or default_registry()
    known = registry.by_url(str(item.get("url", "")))
    official = known is not None and known.url.startswith("http://hl7.org/fhir/SearchParameter/")
    return item.get("status") in USABLE_STATUSES and not official


def check_search_parameter(item: Mapping[str, Any]) -> None:
    """422 when a SearchParameter resource could not be used for searching."""
    if not is_custom(item):
        return
    scratch = SearchParameterRegistry.official()
    try:
        scratch.add(item)
    except InvalidSearchParameterError as exc:
        raise FhirError(422, error("processing", str(exc), "SearchParameter")) from exc


def register_written(
    item: Mapping[str, Any], registry: SearchParameterRegistry | None = None
) -> bool:
    """Add a just-written SearchParameter to the registry; False when it is not usable."""
    registry = registry or default_registry()
    if not is_custom(item, registry):
        return False
    try:
        registry.add(item)
    except InvalidSearchParameterError as exc:
        log.warning("SearchParameter %s not registered: %s", item.get("url"), exc)
        return False
    return True


def register_shipped(
    items: Iterable[Mapping[str, Any]], registry: SearchParameterRegistry | None = None
) -> None:
    """Add the SearchParameters the services ship (such as IHE MHD's `creation`) to the
    registry when the application starts, before its first write: a shipped parameter
    that cannot be used is a programming error (ValueError)."""
    for item in items:
        if not register_written(item, registry):
            raise ValueError(f"shipped SearchParameter {item.get('url')} is not usable")


def load_custom_parameters(
    connection: Connection, registry: SearchParameterRegistry | None = None
) -> int:
    """Add every stored, usable custom SearchParameter to the registry; returns how many."""
    registry = registry or default_registry()
    stmt = select(resource.c.content).where(
        resource.c.resource_type == "SearchParameter", resource.c.deleted.is_(False)
    )
    added = 0
    contents = connection.execute(stmt).scalars()
    pending = [json_codec.parse(content) for content in contents if content]
    for _ in range(2):  # a composite may name a component defined by a later one
        retry = []
        for item in pending:
            if register_written(item, registry):
                added += 1
            elif is_custom(item, registry):
                retry.append(item)
        pending = retry
    return added


def refresh(connection: Connection, registry: SearchParameterRegistry | None = None) -> None:
    """Load the stored custom SearchParameters when they changed since the last look."""
    registry = registry or default_registry()
    key = (str(connection.engine.url), id(registry))
    now, writes = time.monotonic(), SearchParameterWrites.count
    last_time, last_writes = _looked_at.get(key, (-REFRESH_SECONDS, -1))
    if now - last_time < REFRESH_SECONDS and writes == last_writes:
        return
    stmt = select(func.coalesce(func.max(resource.c.tx_id), 0), func.count()).where(
        resource.c.resource_type == "SearchParameter"
    )
    state = tuple(int(x) for x in connection.execute(stmt).one())
    _looked_at[key] = (now, writes)
    if _seen.get(key) == state:
        return
    with _lock:
        load_custom_parameters(connection, registry)
        _seen[key] = (state[0], state[1])
