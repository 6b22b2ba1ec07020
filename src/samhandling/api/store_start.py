"""The store as the application starts (`create_app`): the engine of the configured
database (unless one is handed in), and the store brought up to date before the first
request. Through the interactions (`interactions/store_runtime.py`,
`interactions/published_definitions.py`), as the import contract has it.
"""

from __future__ import annotations

from sqlalchemy import Engine

from samhandling.config import Settings
from samhandling.interactions.published_definitions import publish
from samhandling.interactions.store_runtime import make_engine, upgrade
from samhandling.search.custom_parameters import register_shipped
from samhandling.services.service import Platform


def database_engine(settings: Settings) -> Engine:
    """The engine of the configured database: a statement running past the statement
    timeout stopped, a PostgreSQL connection silent for `database_dead_after_ms` ended."""
    return make_engine(
        settings.database_url,
        statement_timeout_ms=settings.statement_timeout_ms,
        dead_after_ms=settings.database_dead_after_ms,
    )


def prepare_store(engine: Engine, settings: Settings, platform: Platform) -> None:
    """The schema brought up to date, the services' search parameters registered, the
    shipped definitions published."""
    upgrade(engine)
    register_shipped(platform.search_parameters())
    if settings.publish_definitions:
        publish(engine, platform.shipped_definitions())
