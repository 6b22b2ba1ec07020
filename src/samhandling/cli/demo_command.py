"""`samhandling demo`: create the synthetic Norwegian population (see `samhandling.demo`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from samhandling.config import Settings, default_database_url, settings_from_env
from samhandling.demo import DemoLoadError, load_bundles, population_bundles
from samhandling.fhir.outcome import FhirError
from samhandling.services import platform_of
from samhandling.store.database import make_engine
from samhandling.store.planner_statistics import refresh_statistics
from samhandling.store.schema_migrations import upgrade


def demo(
    patients: Annotated[
        int, typer.Option("--patients", min=0, help="how many citizens to generate")
    ] = 100,
    seed: Annotated[int, typer.Option("--seed", help="the same seed gives the same people")] = 1,
    database: Annotated[
        str | None,
        typer.Option(
            "--database", help="sqlite:///path or postgresql://… [env SAMHANDLING_DATABASE_URL]"
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="local data directory [env SAMHANDLING_DATA_DIR]"),
    ] = None,
) -> None:
    """Create a deterministic synthetic population: the register of organisations and
    health personnel, the development personas' people, and PATIENTS citizens in families.

    Everything is written through the same transaction code as the API; ids are fixed, so
    running it again with the same seed updates the same resources.
    """
    settings = _demo_settings(database, data_dir)
    engine = make_engine(settings.database_url)
    try:
        counts = _load_population(engine, settings, patients, seed)
    except (FhirError, DemoLoadError) as exc:
        typer.echo(f"demo population refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    typer.echo(f"demo population (seed {seed}): {sum(counts.values())} resources")
    for resource_type, count in sorted(counts.items()):
        typer.echo(f"  {resource_type}: {count}")


def _demo_settings(database: str | None, data_dir: Path | None) -> Settings:
    """The environment's settings with `demo`'s options over them: the data directory's
    database, unless `database` names another."""
    settings = settings_from_env()
    if data_dir is not None:
        settings = settings.with_overrides(
            data_dir=data_dir, database_url=default_database_url(data_dir)
        )
    return settings.with_overrides(database_url=database)


def _load_population(engine: Engine, settings: Settings, patients: int, seed: int) -> Counter[str]:
    """The schema brought up to date, the population of `patients` citizens (with the
    services' demo additions) written under their write rules, the planner's statistics
    refreshed; the count of resources written, by type."""
    upgrade(engine)
    platform = platform_of(settings.services)
    bundles = population_bundles(patients, seed, hooks=platform.demo_hooks)
    counts = load_bundles(engine, bundles, settings.base_url, rules=platform.write_rules)
    refresh_statistics(engine)
    return counts
