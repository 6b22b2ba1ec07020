"""`samhandling token`, and how a running development server tells it its issuer.

A token is only accepted by the server whose development issuer minted it (its `iss` is
`<server root>/dev-issuer`). `serve --dev-issuer` therefore leaves a note in the data
directory (`dev-issuer/server.json`: base URL and process id) that `token` reads when
neither `--base-url` nor `--port` is given, so the two agree without being told.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from samhandling.auth import DevIssuer
from samhandling.auth.dev.personas import PERSONAS
from samhandling.cli.operator_errors import OperatorError
from samhandling.config import Settings, settings_from_env

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="local data directory [env SAMHANDLING_DATA_DIR]")
]


def token(
    persona: Annotated[str, typer.Option(help=f"one of: {', '.join(PERSONAS)}")] = "system",
    patient: Annotated[str | None, typer.Option(help="the patient's national ID (FNR)")] = None,
    purpose: Annotated[str | None, typer.Option(help="TREAT, ETREAT, COC or BTG")] = None,
    reason: Annotated[str | None, typer.Option(help="reason for emergency access")] = None,
    data_dir: DataDir = None,
    base_url: Annotated[str | None, typer.Option(help="the server's public FHIR base URL")] = None,
    port: Annotated[
        int | None, typer.Option(help="the local server's port (base http://localhost:PORT/fhir)")
    ] = None,
) -> None:
    """Mint a development access token; it is printed alone on the last line.

    Without --base-url or --port it is minted for the server running from the same data
    directory (or for SAMHANDLING_BASE_URL when none runs).
    """
    settings = settings_from_env().with_overrides(data_dir=data_dir)
    settings = settings.with_overrides(base_url=_target_base_url(settings, base_url, port))
    issuer = DevIssuer(settings.data_dir, settings.dev_issuer_url, production=settings.production)
    try:
        minted = issuer.mint(persona, patient_fnr=patient, purpose=purpose, reason=reason)
    except (KeyError, ValueError) as exc:
        raise OperatorError(str(exc.args[0]) if exc.args else str(exc)) from None
    typer.echo(f"for {settings.base_url}", err=True)
    typer.echo(minted)


def _target_base_url(settings: Settings, base_url: str | None, port: int | None) -> str:
    if base_url is not None:
        return base_url.rstrip("/")
    if port is not None:
        return f"http://localhost:{port}/fhir"
    return running_server_base_url(settings.data_dir) or settings.base_url


def server_note(data_dir: Path) -> Path:
    return data_dir / "dev-issuer" / "server.json"


def write_server_note(data_dir: Path, base_url: str) -> None:
    """Record that a server with the development issuer serves `base_url` from `data_dir`."""
    note = server_note(data_dir)
    note.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    note.write_text(json.dumps({"base_url": base_url, "pid": os.getpid()}))


def running_server_base_url(data_dir: Path) -> str | None:
    """The base URL of the server that wrote the note, if that process still runs."""
    try:
        note = json.loads(server_note(data_dir).read_text())
        os.kill(int(note["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    base = note.get("base_url")
    return base if isinstance(base, str) else None


def start_banner(base_url: str, command: str) -> list[str]:
    """The lines `serve --dev-issuer` prints: the personas and one ready request."""
    root = base_url.rstrip("/")
    return [
        f"development personas: {', '.join(PERSONAS)}",
        f"  mint a token: {command} token --persona NAME (e.g. gp, citizen, system)",
        '  try: curl -s -H "Authorization: Bearer $('
        f"{command} token --persona gp | tail -n 1)\" '{root}/Patient?_count=5'",
        f"web views (log in as a persona): {root.removesuffix('/fhir')}/",
    ]
