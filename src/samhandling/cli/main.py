"""`samhandling` command line: serve, import and the operator's tools."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError

from samhandling.cli.audit_command import audit_app
from samhandling.cli.demo_command import demo
from samhandling.cli.export_command import export_store
from samhandling.cli.identity_command import identity_app
from samhandling.cli.import_command import import_bundles
from samhandling.cli.operator_errors import (
    EXIT_OPERATOR_ERROR,
    OperatorError,
    check_services,
    describe_url,
    open_database,
)
from samhandling.cli.reindex_command import reindex_command
from samhandling.cli.summary_command import summary_app
from samhandling.cli.token_command import DataDir, start_banner, token, write_server_note
from samhandling.config import (
    DEFAULT_PORT,
    Settings,
    default_database_url,
    settings_from_env,
    settings_to_env,
)

app = typer.Typer(
    help="samhandling: Norway's collaboration services on FHIR R4.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
app.add_typer(identity_app, name="identity")
app.add_typer(summary_app, name="summary")
app.command()(demo)
app.command("reindex")(reindex_command)
app.command()(token)

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
    create_database: Annotated[
        bool, typer.Option("--create-database", help="create a missing PostgreSQL database")
    ] = False,
    service: Annotated[
        list[str] | None,
        typer.Option(help="a further service to run, as module:attribute (repeatable)"),
    ] = None,
    document_peers: Annotated[
        str | None,
        typer.Option(
            help="JSON file naming the peers document searches are federated to"
            " [env SAMHANDLING_DOCUMENT_PEERS]"
        ),
    ] = None,
) -> None:
    """Run the FHIR server (the schema is created or upgraded on start)."""
    settings = _serve_settings(
        host=host, port=port, database=database, data_dir=data_dir, base_url=base_url,
        dev_issuer=dev_issuer, service=service, document_peers=document_peers,
    )  # fmt: skip
    check_services(settings.services)
    open_database(settings.database_url, create_missing=create_database).dispose()
    if demo_patients:
        seed_demo_population(settings.database_url, settings.base_url, demo_patients)
    os.environ.update(settings_to_env(settings))
    _announce(settings)
    _run_uvicorn(host, port, workers)


def _serve_settings(
    *,
    host: str,
    port: int,
    database: str | None,
    data_dir: Path | None,
    base_url: str | None,
    dev_issuer: bool,
    service: list[str] | None,
    document_peers: str | None,
) -> Settings:
    """The environment's settings with `serve`'s options over them."""
    settings = settings_from_env()
    if data_dir is not None:
        settings = settings.with_overrides(
            data_dir=data_dir, database_url=database or default_database_url(data_dir)
        )
    return settings.with_overrides(
        database_url=database,
        base_url=base_url or f"http://{_public_host(host)}:{port}/fhir",
        dev_issuer=dev_issuer or None,
        services=tuple(service) if service else None,
        document_peers=document_peers,
    )


def _announce(settings: Settings) -> None:
    """The start lines on stderr: the base and the database; with the development issuer,
    its personas and a ready request (and the note naming this server)."""
    typer.echo(
        f"samhandling FHIR base {settings.base_url} on {describe_url(settings.database_url)}",
        err=True,
    )
    if settings.dev_issuer:
        write_server_note(settings.data_dir, settings.base_url)
        command = os.environ.get("SAMHANDLING_COMMAND", "samhandling")
        for line in start_banner(settings.base_url, command):
            typer.echo(line, err=True)


# How long an idle keep-alive connection stays open (uvicorn's default: 5 s). Longer than a
# client or proxy keeps an idle connection before reusing it (httpx 5 s, nginx's upstream
# keepalive and cloud load balancers 60 s): a server that closes first races a client that
# is sending on the connection, which then sees it closed without an answer (a web test's
# request after five seconds of browser steps, in CI). docs/SECURITY.md, "the limits".
KEEP_ALIVE_SECONDS = 75


def _run_uvicorn(host: str, port: int, workers: int) -> None:
    """Serve until stopped: uvicorn's workers each build the app from the environment."""
    import uvicorn

    uvicorn.run(
        "samhandling.server:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Bundles: .json, .json.bz2 or .ndjson")],
    database: Database = None,
    data_dir: DataDir = None,
    skip_existing: Annotated[
        bool,
        typer.Option(
            "--skip-existing", help="re-run safely: entries imported before are not created again"
        ),
    ] = False,
    bulk: Annotated[
        bool,
        typer.Option(
            "--bulk",
            help="into a new instance no one else writes yet: NDJSON resources are created at "
            "their ids in chunks of 500, each one transaction (a chunk naming an id already "
            "stored is refused, never overwritten)",
        ),
    ] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", help="processes sharing the chunks (with --bulk; PostgreSQL)")
    ] = 1,
) -> None:
    """Load transaction/batch Bundles through the same transaction code as the API."""
    settings = settings_from_env()
    if data_dir is not None:
        settings = settings.with_overrides(
            data_dir=data_dir, database_url=default_database_url(data_dir)
        )
    settings = settings.with_overrides(database_url=database)
    import_bundles(settings, paths, skip_existing=skip_existing, bulk=bulk, jobs=jobs)


@app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="where the <Type>.ndjson files go")],
    types: Annotated[
        list[str] | None, typer.Option("--type", help="only this resource type (repeatable)")
    ] = None,
    database: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Write the store as NDJSON files (one snapshot, one file per type; `import` loads them)."""
    settings = settings_from_env()
    if data_dir is not None:
        settings = settings.with_overrides(
            data_dir=data_dir, database_url=default_database_url(data_dir)
        )
    settings = settings.with_overrides(database_url=database)
    export_store(settings, directory, types)


def seed_demo_population(database_url: str, base_url: str, patients: int) -> None:
    """Load the demo population (registers, personas, citizens) if there are no Patients."""
    from samhandling.demo import load_bundles, population_bundles
    from samhandling.services import default_platform
    from samhandling.store.planner_statistics import refresh_statistics
    from samhandling.store.reader import count_stored

    engine = open_database(database_url)
    try:
        with engine.connect() as connection:
            existing = count_stored(connection, "Patient")
        if existing:
            return
        platform = default_platform()
        bundles = population_bundles(patients, 1, hooks=platform.demo_hooks)
        counts = load_bundles(engine, bundles, base_url, rules=platform.write_rules)
        refresh_statistics(engine)
        typer.echo(f"seeded a demo population: {sum(counts.values())} resources", err=True)
    finally:
        engine.dispose()


def _public_host(host: str) -> str:
    return "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host


def main() -> None:
    """The `samhandling` command: operator errors are one line on stderr, exit status 2."""
    try:
        app()
    except OperatorError as exc:
        typer.echo(f"samhandling: {exc}", err=True)
        raise SystemExit(EXIT_OPERATOR_ERROR) from None
    except DBAPIError as exc:
        first = str(exc.orig or exc).strip().splitlines()[0]
        typer.echo(f"samhandling: the database refused: {first}", err=True)
        raise SystemExit(EXIT_OPERATOR_ERROR) from None
