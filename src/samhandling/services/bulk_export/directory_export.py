"""An operator's export of the whole store to a directory (`samhandling export`): the same
snapshot walk and files as `$export`, without a job, and complete (entries that systems
are not shown because of their labels are included: this is a copy of the store, e.g. to
move it to another instance with `samhandling import`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from samhandling.services.bulk_export.runner import UNPACED, export_type
from samhandling.services.bulk_export.shaping import Shaping
from samhandling.store.database import Engine, read_connection
from samhandling.store.export_queries import SnapshotSelection, snapshot_position, snapshot_types

#: told (type, resources written of it so far) as the export goes
Progress = Callable[[str, int], None]


def export_to_directory(
    engine: Engine,
    directory: Path,
    types: Sequence[str] | None = None,
    since_us: int | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Export the store as of now (all types, or `types`) into `directory` as
    `<Type>.ndjson` files; the count written per type."""
    with read_connection(engine) as connection:
        snapshot_tx, _ = snapshot_position(connection)
        wanted = list(types) if types else snapshot_types(connection, snapshot_tx, False)
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for resource_type in wanted:

        def on_batch(written: int, rtype: str = resource_type) -> None:
            if progress is not None:
                progress(rtype, written)

        selection = SnapshotSelection(resource_type, snapshot_tx, since_us)
        entries = export_type(
            engine, selection, Shaping(), directory, UNPACED, on_batch, withhold=False
        )
        counts[resource_type] = sum(entry["count"] for entry in entries)
    return counts
