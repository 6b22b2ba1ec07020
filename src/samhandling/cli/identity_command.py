"""`samhandling identity duplicates`: the national numbers several Patients carry.

Such duplicates can only predate the `patient_identity` table (migration 0015); the
server never picks one of them. Merge each pair with `Patient/$merge`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from samhandling.config import settings_from_env
from samhandling.store.database import make_engine, read_connection
from samhandling.store.patient_identity import duplicate_numbers
from samhandling.store.schema_migrations import upgrade

identity_app = typer.Typer(help="Patient identity: one person, one record.", no_args_is_help=True)


@identity_app.command("duplicates")
def duplicates(
    database: Annotated[
        str | None,
        typer.Option(
            "--database", help="sqlite:///path or postgresql://… [env SAMHANDLING_DATABASE_URL]"
        ),
    ] = None,
) -> None:
    """List national numbers carried by several Patients (masked); exit 1 if there are any."""
    engine = make_engine(database or settings_from_env().database_url)
    try:
        upgrade(engine)
        with read_connection(engine) as connection:
            found = duplicate_numbers(connection)
    finally:
        engine.dispose()
    for duplicate in found:
        patients = ", ".join(f"Patient/{p}" for p in duplicate.patient_ids)
        typer.echo(f"{duplicate.system}|{duplicate.masked}\t{patients}")
    if found:
        typer.echo(f"{len(found)} numbers belong to several Patients: merge them", err=True)
        raise typer.Exit(1)
    typer.echo("no duplicate national numbers", err=True)
