"""Benchmark databases: created fresh for a run, dropped afterwards (SQLite: files)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_POSTGRES = os.environ.get(
    "SAMHANDLING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@dataclass
class BenchDatabase:
    """One database of one engine: `url` is what `samhandling --database` takes."""

    engine: str  # "postgresql" or "sqlite"
    name: str
    url: str
    admin_url: str | None = None
    path: Path | None = None
    keep: bool = False  # an existing database the run must leave as it found it

    @classmethod
    def existing(cls, url: str, admin_url: str = DEFAULT_POSTGRES) -> BenchDatabase:
        """An already loaded database (e.g. 10,000 replicated patients); never dropped."""
        if url.startswith("sqlite"):
            path = Path(url.removeprefix("sqlite:///"))
            return cls("sqlite", path.stem, url, path=path, keep=True)
        return cls("postgresql", url.rsplit("/", 1)[1], url, admin_url=admin_url, keep=True)

    @classmethod
    def fresh(
        cls, engine: str, name: str, work_dir: Path, admin_url: str = DEFAULT_POSTGRES
    ) -> BenchDatabase:
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError(f"bad database name {name!r}")
        if engine == "sqlite":
            path = work_dir / f"{name}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return cls(engine, name, f"sqlite:///{path}", path=path)
        if engine != "postgresql":
            raise ValueError(f"unknown engine {engine!r}")
        base = admin_url.rsplit("/", 1)[0]
        database = cls(engine, name, f"{base}/{name}", admin_url=admin_url)
        database._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        database._admin(f'CREATE DATABASE "{name}"')
        return database

    def _admin(self, sql: str) -> None:
        import psycopg

        assert self.admin_url is not None
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(sql)

    def create_schema(self) -> None:
        """The server's schema (Alembic migrations), for databases no server has started on."""
        from samhandling.store.database import make_engine
        from samhandling.store.schema_migrations import upgrade

        engine = make_engine(self.url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()

    def sa_engine(self) -> Any:
        from samhandling.store.database import make_engine

        return make_engine(self.url, pool_size=2)

    def max_tx(self) -> int:
        from sqlalchemy import func, select

        from samhandling.store.schema import transaction_log

        engine = self.sa_engine()
        try:
            with engine.connect() as connection:
                value = connection.execute(
                    select(func.coalesce(func.max(transaction_log.c.tx_id), 0))
                ).scalar_one()
        finally:
            engine.dispose()
        return int(value)

    def version(self) -> str:
        if self.engine == "sqlite":
            import sqlite3

            return f"SQLite {sqlite3.sqlite_version}"
        import psycopg

        with psycopg.connect(self.url) as connection:
            row = connection.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"

    def activity(self) -> dict[str, int]:
        """PostgreSQL's cumulative counters of this database, else {}.

        pg_stat_database as they are, pg_stat_user_tables as `table.column`.

        Backends publish them when a transaction ends, at most once a second, so a reading
        right after a workload may miss the last second; the harness waits a little.
        """
        if self.engine != "postgresql":
            return {}
        import psycopg

        columns = (
            "xact_commit",
            "xact_rollback",
            "tup_returned",
            "tup_fetched",
            "tup_inserted",
            "tup_updated",
            "tup_deleted",
            "blks_read",
            "blks_hit",
        )
        table_columns = (
            "seq_scan",
            "seq_tup_read",
            "idx_scan",
            "idx_tup_fetch",
            "n_tup_ins",
            "n_tup_upd",
            "n_tup_del",
        )
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("SELECT pg_stat_clear_snapshot()")
            row = connection.execute(
                f"SELECT {', '.join(columns)} FROM pg_stat_database WHERE datname = %s",
                (self.name,),
            ).fetchone()
            tables = connection.execute(
                f"SELECT relname, {', '.join(table_columns)} FROM pg_stat_user_tables"
            ).fetchall()
        if not row:
            return {}
        counters = dict(zip(columns, (int(v or 0) for v in row), strict=True))
        for name, *values in tables:
            for column, value in zip(table_columns, values, strict=True):
                counters[f"{name}.{column}"] = int(value or 0)
        return counters

    def drop(self) -> None:
        if self.keep:
            return
        if self.engine == "sqlite":
            assert self.path is not None
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
