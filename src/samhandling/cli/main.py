"""`samhandling` command line: serve, import and the operator's tools."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from samhandling.auth import DevIssuer
from samhandling.auth.personas import PERSONAS
from samhandling.cli.audit_command import audit_app
from samhandling.cli.demo_command import demo
from samhandling.cli.identity_command import identity_app
from samhandling.cli.import_command import import_bundles
from samhandling.cli.reindex_command import reindex_command
from samhandling.config import (
    DEFAULT_PORT,
    default_database_url,
    settings_from_env,
    settings_to_env,
)

app = typer.Typer(
    help="samhandling: Norway's collaboration services on FHIR R4.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
app.add_typer(identity_app, name="identity")
app.command()(demo)
app.command("reindex")(reindex_command)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="local data directory [env SAMHANDLING_DATA_DIR]")
]
Database = Annotated[
    str | None,
    typer.Option(
        "--database", help="sqlite:///path or postgresql://… [env SAMHANDLING_DATABASE_URL]"
    ),
]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = DEFAULT_PORT,
    database: Database = None,
    data_dir: DataDir = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    base_url: Annotated[str | None, typer.Option(help="public FHIR base URL")] = None,
    dev_issuer: Annotated[
        bool, typer.Option("--dev-issuer", help="run and trust the development token issuer")
    ] = False,
    demo_patients: Annotated[
        int, typer.Option(help="seed a demo population of N citizens into an empty database")
    ] = 0,
) -> None:
    """Run the FHIR server (the schema is created or upgraded on start)."""
    import uvicorn

    settings = settings_from_env()
    if data_dir is not None:
        settings = settings.with_overrides(
            data_dir=data_dir, database_url=database or default_database_url(data_dir)
        )
    settings = settings.with_overrides(
        database_url=database,
        base_url=base_url or f"http://{_public_host(host)}:{port}/fhir",
        dev_issuer=dev_issuer or None,
    )
    if demo_patients:
        seed_demo_population(settings.database_url, settings.base_url, demo_patients)
    os.environ.update(settings_to_env(settings))
    typer.echo(
        f"samhandling FHIR base {settings.base_url} on {_describe(settings.database_url)}", err=True
    )
    uvicorn.run(
        "samhandling.api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Bundles: .json, .json.bz2 or .ndjson")],
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Load transaction/batch Bundles through the same transaction code as the API."""
    settings = settings_from_env()
    if data_dir is not None:
        settings = settings.with_overrides(
            data_dir=data_dir, database_url=default_database_url(data_dir)
        )
    settings = settings.with_overrides(database_url=database)
    import_bundles(settings, paths)


@app.command()
def token(
    persona: Annotated[str, typer.Option(help=f"one of: {', '.join(PERSONAS)}")] = "system",
    patient: Annotated[str | None, typer.Option(help="the patient's national ID (FNR)")] = None,
    purpose: Annotated[str | None, typer.Option(help="TREAT, ETREAT, COC or BTG")] = None,
    reason: Annotated[str | None, typer.Option(help="reason for emergency access")] = None,
    data_dir: DataDir = None,
    base_url: Annotated[str | None, typer.Option(help="the server's public FHIR base URL")] = None,
) -> None:
    """Mint a development access token; it is printed alone on the last line."""
    settings = settings_from_env().with_overrides(data_dir=data_dir, base_url=base_url)
    issuer = DevIssuer(settings.data_dir, settings.dev_issuer_url, production=settings.production)
    minted = issuer.mint(persona, patient_fnr=patient, purpose=purpose, reason=reason)
    typer.echo(minted)


def seed_demo_population(database_url: str, base_url: str, patients: int) -> None:
    """Load the demo population (registers, personas, citizens) if there are no Patients."""
    from sqlalchemy import func, select

    from samhandling.demo import load_bundles, population_bundles
    from samhandling.store.database import make_engine
    from samhandling.store.schema import resource
    from samhandling.store.schema_migrations import upgrade

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            existing = connection.execute(
                select(func.count())
                .select_from(resource)
                .where(resource.c.resource_type == "Patient")
            ).scalar_one()
        if existing:
            return
        counts = load_bundles(engine, population_bundles(patients, 1), base_url)
        typer.echo(f"seeded a demo population: {sum(counts.values())} resources", err=True)
    finally:
        engine.dispose()


def _public_host(host: str) -> str:
    return "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host


def _describe(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url
