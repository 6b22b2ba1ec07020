"""Schema migrations (Alembic): bring any older samhandling database up to date."""

from __future__ import annotations

import functools

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from samhandling.store.advisory_locks import lock_key
from samhandling.store.database import lift_statement_timeout
from samhandling.store.layout import (
    PATIENT_PARTITIONED,
    is_partitioned,
    partition,
    requested_layout,
)

SCRIPT_LOCATION = "samhandling.store:migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def upgrade(engine: Engine, revision: str = "head", layout: str | None = None) -> None:
    """Apply every migration up to `revision` in one transaction. Processes starting
    together (`serve --workers N` on a new database) take turns: the later ones find the
    schema up to date instead of creating it a second time. A database already at the
    head is left alone without loading the migration scripts.

    `layout` (default: `SAMHANDLING_STORE_LAYOUT`, store/layout.py) `patient-partitioned`
    then rebuilds the clinical tables of a PostgreSQL database partitioned by patient, in
    the same transaction, unless they already are."""
    partitioned = (layout or requested_layout()) == PATIENT_PARTITIONED and revision == "head"
    if revision == "head" and current_revision(engine) == head_revision():
        if not partitioned or engine.dialect.name != "postgresql":
            return
        with engine.connect() as connection:
            if is_partitioned(connection):
                return
    config = alembic_config()
    with engine.connect().execution_options(write=True) as connection, connection.begin():
        lift_statement_timeout(connection)  # an index on a large table takes its time
        lock_key(connection, "schema-migrations")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if partitioned and connection.dialect.name == "postgresql":
            partition(connection)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
