"""`samhandling reindex`: recompute the index rows of every current resource.

Needed after a custom SearchParameter is added (the resources written before it have no
rows for it) or after the extraction rules change. Resources are read in keyset order and
re-indexed in batches, one write transaction per batch, so a long reindex neither holds
one huge transaction nor blocks writers for long; a resource written concurrently is
indexed by its own write and then again, identically, by the reindex.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import Connection

from samhandling.config import settings_from_env
from samhandling.fhir import json_codec
from samhandling.search.custom_parameters import load_custom_parameters
from samhandling.store.database import make_engine, read_connection, write_connection
from samhandling.store.reader import current_contents_after
from samhandling.store.schema_migrations import upgrade
from samhandling.store.version_writer import VersionWriter

BATCH = 500


def reindex(database_url: str, *, batch_size: int = BATCH) -> int:
    """Re-extract the index rows of every current resource; returns how many were indexed."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with read_connection(engine) as connection:
            load_custom_parameters(connection)
        done, after = 0, ("", "")
        while True:
            with write_connection(engine) as connection:
                rows = current_contents_after(connection, after, batch_size)
                for rtype, rid, content in rows:
                    _reindex_one(connection, rtype, rid, json_codec.parse(content))
            if not rows:
                return done
            done += len(rows)
            after = (rows[-1][0], rows[-1][1])
    finally:
        engine.dispose()


def _reindex_one(connection: Connection, rtype: str, rid: str, body: dict[str, Any]) -> None:
    VersionWriter(connection).reindex(rtype, rid, body)


def reindex_command(
    database: Annotated[
        str | None,
        typer.Option(
            "--database", help="sqlite:///path or postgresql://… [env SAMHANDLING_DATABASE_URL]"
        ),
    ] = None,
) -> None:
    """Recompute the search index of every resource (after adding a SearchParameter)."""
    url = database or settings_from_env().database_url
    count = reindex(url)
    typer.echo(f"reindexed {count} resources")
