"""Read, vread and history (R4 §3.1.0.2, §3.1.0.3, §3.1.0.6)."""

from __future__ import annotations

from typing import Any, TypeGuard
from urllib.parse import urlencode

from sqlalchemy import Connection

from samhandling.access_guard import OPEN_ACCESS, AccessGuard
from samhandling.fhir.fhir_dates import parse_date_range
from samhandling.fhir.instants import date_to_us, format_instant
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.request_limits import MAX_VERSION_ID, check_no_nul, database_integer
from samhandling.store.reader import (
    HistoryQuery,
    latest_tx,
    read_current,
    read_history,
    read_live_before,
    read_many_current,
    read_version,
    read_versions_with_current,
)
from samhandling.store.records import StoredVersion


def read(
    connection: Connection,
    resource_type: str,
    resource_id: str,
    guard: AccessGuard = OPEN_ACCESS,
    *,
    shown: bool = True,
) -> StoredVersion:
    """The current version; 404 if it never existed, 410 if it is deleted. `shown` False:
    read to be checked, not given to the caller (`AccessGuard.check_read`)."""
    guard.check_request("read", resource_type)
    current = read_current(connection, resource_type, resource_id)
    if current is not None and current.deleted:
        check_deletion(connection, current, "read", guard)
    return judge_current(resource_type, resource_id, current, guard, shown=shown)


def judge_current(
    resource_type: str,
    resource_id: str,
    current: StoredVersion | None,
    guard: AccessGuard,
    *,
    shown: bool = True,
) -> StoredVersion:
    """What a read answers, once a deletion's content was judged (`check_deletion`): 404,
    410, or the current version if the guard lets the caller see it. Pure: the threaded
    read and the one on the event loop (`interactions/loop_read.py`) share it."""
    if current is None:
        raise FhirError(404, error("not-found", f"{resource_type}/{resource_id} is not known"))
    if current.deleted:
        raise FhirError(
            410,
            error("deleted", f"{resource_type}/{resource_id} was deleted"),
            headers={"ETag": current.etag},
        )
    if guard.inspects_resources:
        guard.check_read("read", current.judged(), shown=shown)
    return current


def check_deletion(
    connection: Connection, deletion: StoredVersion, interaction: str, guard: AccessGuard
) -> None:
    """May the caller learn of this deletion? Judged on the content it deleted, so that a
    deleted resource is exactly as visible as it was (a citizen gets the 404 of an unknown
    resource for somebody else's, not 410). With no content to judge, nothing is told."""
    if not guard.inspects_resources:
        return
    deleted = read_live_before(
        connection, deletion.resource_type, deletion.resource_id, deletion.version_id
    )
    later = _current_of(connection, deletion) if deleted is not None else None
    judge_deletion(deletion, deleted, interaction, guard, later)


def judge_deletion(
    deletion: StoredVersion,
    deleted: StoredVersion | None,
    interaction: str,
    guard: AccessGuard,
    later: dict[str, Any] | None,
) -> None:
    """`check_deletion`'s judgement of the `deleted` content (None: nothing to judge, 404),
    with the `later` current content if any."""
    if deleted is None:
        location = f"{deletion.resource_type}/{deletion.resource_id}"
        if interaction == "vread":
            location += f"/_history/{deletion.version_id}"
        raise FhirError(404, error("not-found", f"{location} is not known"))
    judged = deleted.judged()
    # Named by the deletion's version, so that a refusal reads like a miss of that version.
    judged["meta"] = {**judged.get("meta", {}), "versionId": str(deletion.version_id)}
    guard.check_read(interaction, judged, later)


def vread(
    connection: Connection,
    resource_type: str,
    resource_id: str,
    version: str,
    guard: AccessGuard = OPEN_ACCESS,
) -> StoredVersion:
    """One version; a deleted version answers 410."""
    number = vread_number(resource_type, resource_id, version, guard)
    stored = read_version(connection, resource_type, resource_id, number)
    if stored is not None and stored.deleted:
        check_deletion(connection, stored, "vread", guard)
    later = _current_of(connection, stored) if judged_with_later(stored, guard) else None
    return judge_version(resource_type, resource_id, version, stored, guard, later)


def vread_number(resource_type: str, resource_id: str, version: str, guard: AccessGuard) -> int:
    """The version number a vread asks for, once the caller may vread the type at all."""
    guard.check_request("vread", resource_type)
    number = database_integer(version, MAX_VERSION_ID)
    if number is None:
        raise FhirError(
            404,
            error(
                "not-found", f"Version {version!r} of {resource_type}/{resource_id} is not known"
            ),
        )
    return number


def judged_with_later(stored: StoredVersion | None, guard: AccessGuard) -> TypeGuard[StoredVersion]:
    """Whether a vread's version is judged with the current version (so it is read)."""
    return stored is not None and not stored.deleted and guard.inspects_resources


def judge_version(
    resource_type: str,
    resource_id: str,
    version: str,
    stored: StoredVersion | None,
    guard: AccessGuard,
    later: dict[str, Any] | None,
) -> StoredVersion:
    """What a vread answers, once a deletion was judged: 404, 410, or the version if the
    guard lets the caller see it (together with the `later` current content)."""
    if stored is None:
        raise FhirError(
            404,
            error("not-found", f"{resource_type}/{resource_id}/_history/{version} is not known"),
        )
    if stored.deleted:
        raise FhirError(
            410, error("deleted", f"{resource_type}/{resource_id} version {version} is a deletion")
        )
    if guard.inspects_resources:
        guard.check_read("vread", stored.judged(), later)
    return stored


def vread_many(
    connection: Connection,
    resource_type: str,
    refs: list[tuple[str, int]],
    guard: AccessGuard = OPEN_ACCESS,
) -> list[StoredVersion]:
    """Given versions of resources of one type, in the order asked, judged as `vread`
    judges each (404, 410, the guard with the current version), read in one query."""
    guard.check_request("vread", resource_type)
    found = read_versions_with_current(connection, resource_type, refs)
    versions = []
    for resource_id, number in refs:
        pair = found.get((resource_id, number))
        if pair is None:
            location = f"{resource_type}/{resource_id}/_history/{number}"
            raise FhirError(404, error("not-found", f"{location} is not known"))
        stored, current = pair
        if stored.deleted:
            vread(connection, resource_type, resource_id, str(number), guard)  # its refusal
        if guard.inspects_resources:
            later = current.judged() if current is not None and not current.deleted else None
            guard.check_read("vread", stored.judged(), later)
        versions.append(stored)
    return versions


def _current_of(connection: Connection, version: StoredVersion) -> dict[str, Any] | None:
    current = read_current(connection, version.resource_type, version.resource_id)
    return later_content(version, current)


def later_content(version: StoredVersion, current: StoredVersion | None) -> dict[str, Any] | None:
    """The current content when `version` is an earlier one (None: it is current, or the
    resource is deleted now, which hides nothing of its past)."""
    if current is None or current.deleted or current.version_id == version.version_id:
        return None
    return current.judged()


def history(
    connection: Connection,
    base_url: str,
    items: list[tuple[str, str]],
    resource_type: str | None = None,
    resource_id: str | None = None,
    guard: AccessGuard = OPEN_ACCESS,
) -> dict[str, Any]:
    """A history Bundle, newest first, paged by a keyset cursor inside a pinned snapshot.

    Versions the caller may not see are left out; `total` is then omitted, so that the
    Bundle never tells how much was withheld.
    """
    guard.check_request("history" if resource_id else "history-type", resource_type)
    query = _history_query(connection, items, resource_type, resource_id)
    if resource_id is not None:
        _check_instance(connection, resource_type or "", resource_id, guard)
    versions, total = read_history(connection, query)
    path = _history_path(base_url, resource_type, resource_id)
    links = _history_links(path, items, query, versions)
    instance = resource_id is not None
    entries = _visible_entries(connection, base_url, guard, versions, instance)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "history", "link": links}
    if not guard.inspects_resources or total == len(entries):
        bundle["total"] = total  # truthful, and nothing was withheld
    bundle["entry"] = entries
    return bundle


def _history_query(
    connection: Connection,
    items: list[tuple[str, str]],
    resource_type: str | None,
    resource_id: str | None,
) -> HistoryQuery:
    """The page a history request asks for: its filters, page size, snapshot and cursor
    (the latest transaction is the snapshot of a first page)."""
    for name, value in items:
        check_no_nul(name, value)
    params = dict(items)
    return HistoryQuery(
        resource_type=resource_type,
        resource_id=resource_id,
        since_us=_instant_param(params, "_since"),
        at_range_us=_range_param(params, "_at"),
        count=min(_int_param(params, "_count", 50), 1000),
        snapshot_tx=_int_param(params, "_snapshot", 0) or latest_tx(connection),
        after=_cursor(params.get("_after")),
    )


def _history_path(base_url: str, resource_type: str | None, resource_id: str | None) -> str:
    """The `_history` URL of the system, a type or an instance."""
    path = "/".join(p for p in (resource_type, resource_id) if p)
    return f"{base_url}/{path}/_history" if path else f"{base_url}/_history"


def _history_links(
    path: str, items: list[tuple[str, str]], query: HistoryQuery, versions: list[StoredVersion]
) -> list[dict[str, str]]:
    """The `self` link pinned to the snapshot, and `next` after the last version when the
    page is full."""
    kept = [(k, v) for k, v in items if k not in ("_after", "_snapshot")]
    links = [
        {
            "relation": "self",
            "url": f"{path}?{urlencode([*kept, ('_snapshot', query.snapshot_tx)])}",
        }
    ]
    if len(versions) == query.count:
        last = versions[-1]
        cursor = f"{last.tx_id}:{last.resource_type}:{last.resource_id}:{last.version_id}"
        more = [*kept, ("_snapshot", query.snapshot_tx), ("_after", cursor)]
        links.append({"relation": "next", "url": f"{path}?{urlencode(more)}"})
    return links


def _visible_entries(
    connection: Connection,
    base_url: str,
    guard: AccessGuard,
    versions: list[StoredVersion],
    instance: bool,
) -> list[dict[str, Any]]:
    """The page's entries, less the versions the caller may not see."""
    currents = {} if instance else _currents(connection, guard, versions)
    return [
        _history_entry(base_url, v)
        for v in versions
        if _visible(guard, v, instance, currents.get((v.resource_type, v.resource_id)))
    ]


def _check_instance(
    connection: Connection, resource_type: str, resource_id: str, guard: AccessGuard
) -> None:
    current = read_current(connection, resource_type, resource_id)
    if current is None:
        raise FhirError(404, error("not-found", f"{resource_type}/{resource_id} is not known"))
    if current.deleted:
        check_deletion(connection, current, "history", guard)
    elif guard.inspects_resources:
        guard.check_read("history", current.resource())


def _currents(
    connection: Connection, guard: AccessGuard, versions: list[StoredVersion]
) -> dict[tuple[str, str], StoredVersion]:
    """The current versions of the resources of a type or system history page (an
    instance's history checks its current version up front)."""
    if not guard.inspects_resources:
        return {}
    keys = list(dict.fromkeys((v.resource_type, v.resource_id) for v in versions))
    return read_many_current(connection, keys)


def _visible(
    guard: AccessGuard, version: StoredVersion, instance: bool, current: StoredVersion | None
) -> bool:
    if not guard.inspects_resources:
        return True
    if version.deleted:
        # A deletion marker has no content to judge: shown only in the history of an
        # instance the caller was already allowed to see.
        return instance
    later = current.resource() if current and current.version_id != version.version_id else None
    return guard.visible("history", version.resource(), later)


def _history_entry(base_url: str, version: StoredVersion) -> dict[str, Any]:
    method = {"create": "POST", "delete": "DELETE"}.get(version.method, "PUT")
    url = (
        f"{version.resource_type}/{version.resource_id}"
        if method != "POST"
        else version.resource_type
    )
    entry: dict[str, Any] = {
        "fullUrl": f"{base_url}/{version.resource_type}/{version.resource_id}",
        "request": {"method": method, "url": url},
        "response": {
            "status": "410 Gone"
            if version.deleted
            else ("201 Created" if method == "POST" else "200 OK"),
            "etag": version.etag,
            "lastModified": format_instant(version.last_updated_us),
        },
    }
    if not version.deleted:
        entry["resource"] = version.resource()
    return entry


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    number = database_integer(value)
    if number is None:
        raise FhirError(400, error("invalid", f"{name} must be a non-negative integer", name))
    return number


def _instant_param(params: dict[str, str], name: str) -> int | None:
    value = params.get(name)
    return None if value is None else _range_param(params, name)[0]  # type: ignore[index]


def _range_param(params: dict[str, str], name: str) -> tuple[int, int] | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        low, high = parse_date_range(value)
    except ValueError as exc:
        raise FhirError(
            400, error("invalid", f"Invalid {name} value {value!r}: {exc}", name)
        ) from exc
    return date_to_us(low), date_to_us(high)


def _cursor(value: str | None) -> tuple[int, str, str, int] | None:
    if value is None:
        return None
    parts = value.split(":")
    tx_id = database_integer(parts[0]) if len(parts) == 4 else None
    version_id = database_integer(parts[3], MAX_VERSION_ID) if len(parts) == 4 else None
    if tx_id is None or version_id is None:
        raise FhirError(400, error("invalid", "Malformed _after cursor", "_after"))
    return tx_id, parts[1], parts[2], version_id
