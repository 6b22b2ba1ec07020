"""What the operator sees when a command cannot run: one clear line and a non-zero exit.

Tracebacks are for programming errors. A missing file, a database that does not exist or
does not answer, a persona asked for the wrong patient: these are the operator's to fix,
so each becomes an `OperatorError` whose message says what is wrong and what to do.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from samhandling.store.database import make_engine
from samhandling.store.database_url import normalise_url
from samhandling.store.schema_migrations import upgrade

EXIT_OPERATOR_ERROR = 2

_MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')


class OperatorError(Exception):
    """A condition the operator must fix; shown as one line, exit status 2."""


def describe_url(url: str) -> str:
    """The database URL without its password (a libpq multi-host URL in SQLAlchemy's form)."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def database_problem(url: str, exc: DBAPIError) -> OperatorError:
    """One line saying why the database at `url` cannot be used, and what to do."""
    first_line = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    missing = _MISSING_DATABASE.search(str(exc.orig))
    if missing:
        parsed = make_url(normalise_url(url))
        where = f"-h {parsed.host or '127.0.0.1'} -p {parsed.port or 5432}"
        user = f" -U {parsed.username}" if parsed.username else ""
        return OperatorError(
            f'PostgreSQL database "{missing.group(1)}" does not exist at {describe_url(url)};'
            f" create it with `createdb {where}{user} {missing.group(1)}`"
            " or start with --create-database"
        )
    return OperatorError(f"cannot use the database {describe_url(url)}: {first_line}")


def open_database(url: str, *, create_missing: bool = False) -> Engine:
    """An engine on `url` with the schema created or upgraded.

    Raises OperatorError when the database does not answer or does not exist (created
    first when `create_missing` and the URL is PostgreSQL).
    """
    engine = make_engine(url)
    try:
        upgrade(engine)
    except OperationalError as exc:
        engine.dispose()
        problem = database_problem(url, exc)
        if not (create_missing and _MISSING_DATABASE.search(str(exc.orig))):
            raise problem from None
        create_postgres_database(url)
        return open_database(url)
    return engine


def create_postgres_database(url: str) -> None:
    """CREATE DATABASE for `url`, connecting to the server's `postgres` database."""
    parsed = make_url(normalise_url(url))
    name = parsed.database or ""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        raise OperatorError(f"will not create a database named {name!r}")
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        raise database_problem(url, exc) from None
    finally:
        admin.dispose()


def check_services(paths: tuple[str, ...]) -> None:
    """Fail before starting when a further service (`--service`) cannot be loaded."""
    from samhandling.services import platform_of  # the services load the whole app stack

    try:
        platform_of(paths)
    except ValueError as exc:
        raise OperatorError(str(exc)) from exc
