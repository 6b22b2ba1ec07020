"""`samhandling audit …`: verify, checkpoint, seal and archive the audit trail; emergency
report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from samhandling.audit.archive import archive
from samhandling.audit.chain import seal_pending, verify
from samhandling.audit.checkpoints import append_to as append_checkpoint
from samhandling.audit.checkpoints import read as read_checkpoints
from samhandling.audit.checkpoints import take as take_checkpoint
from samhandling.audit.queries import emergency_report
from samhandling.config import settings_from_env
from samhandling.fhir.instants import datetime_to_us, format_instant
from samhandling.store.database import make_engine
from samhandling.store.schema_migrations import upgrade

audit_app = typer.Typer(
    help="The audit trail: verify, checkpoint, seal, archive, emergency report."
)
Database = Annotated[str | None, typer.Option("--database", help="sqlite:///… or postgresql://…")]


def _engine(database: str | None) -> Engine:
    settings = settings_from_env().with_overrides(database_url=database)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine


@audit_app.command("verify")
def verify_command(
    database: Database = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(help="checkpoints from `audit checkpoint`: the chain must pass through each"),
    ] = None,
) -> None:
    """Check the hash chain; exits 1 and names the first broken link if it is broken."""
    try:
        expected = read_checkpoints(checkpoints) if checkpoints else []
    except (OSError, ValueError) as exc:
        typer.echo(f"cannot read the checkpoints: {exc}", err=True)
        raise typer.Exit(2) from exc
    report = verify(_engine(database), checkpoints=expected)
    if report.ok:
        checked, unsealed = report.checked, report.unsealed
        passed = f", {report.checkpoints} checkpoints passed" if checkpoints else ""
        typer.echo(
            f"audit trail intact: {checked} records verified, {unsealed} not yet sealed{passed}"
        )
        return
    typer.echo(f"audit trail BROKEN at chain position {report.broken_at}: {report.reason}")
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint_command(
    to: Annotated[Path, typer.Option(help="the file the checkpoint is appended to")],
    database: Database = None,
) -> None:
    """Append the chain head (position and hash) to a file kept outside the database's
    reach; `verify --checkpoints` then detects records removed from the end."""
    checkpoint = take_checkpoint(_engine(database))
    if checkpoint is None:
        typer.echo("the audit trail is empty: no checkpoint")
        return
    append_checkpoint(to, checkpoint)
    typer.echo(f"checkpoint at chain position {checkpoint.chain_pos}: {checkpoint.hash}")


@audit_app.command("seal")
def seal_command(database: Database = None) -> None:
    """Chain every record that is not yet sealed."""
    typer.echo(f"sealed {seal_pending(_engine(database))} records")


@audit_app.command("archive")
def archive_command(
    before: Annotated[str, typer.Option(help="archive records older than this date (YYYY-MM-DD)")],
    directory: Annotated[Path, typer.Option(help="where the NDJSON.gz archives go")],
    database: Database = None,
) -> None:
    """Move sealed records older than --before into a compressed archive file."""
    cutoff = datetime.fromisoformat(before).replace(tzinfo=UTC)
    result = archive(_engine(database), datetime_to_us(cutoff), directory)
    typer.echo(f"archived {result.count} records to {result.path or '-'}")


@audit_app.command("emergency-report")
def emergency_report_command(
    start: Annotated[str, typer.Option(help="period start (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option(help="period end, exclusive (YYYY-MM-DD)")],
    database: Database = None,
) -> None:
    """Emergency accesses per organisation in the period."""
    low = datetime_to_us(datetime.fromisoformat(start).replace(tzinfo=UTC))
    high = datetime_to_us(datetime.fromisoformat(end).replace(tzinfo=UTC))
    with _engine(database).connect() as connection:
        for row in emergency_report(connection, low, high):
            first, last = format_instant(row["first"]), format_instant(row["last"])
            typer.echo(f"{row['agent_org'] or 'unknown'}\t{row['count']}\t{first}\t{last}")
