"""`samhandling summary verify FILE`: check the signature of a saved patient summary;
`samhandling summary rotate-key`: make a new signing key; `retire-key KID`: drop an older
key's private half.

The keys are the published JWKS (`--keys FILE`, as `/.well-known/summary-signing-keys.json`
or `$summary-signing-keys` gives it: the JWKS itself or that Parameters answer) or, on the
server's own machine, the public halves of the keys in the data directory. Exit 0 when the
signature matches the content, 1 when it does not (the reason on stderr).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from samhandling.cli.operator_errors import OperatorError
from samhandling.cli.token_command import DataDir
from samhandling.config import settings_from_env
from samhandling.services.patient_summary import archive, signing

summary_app = typer.Typer(
    help="Patient summaries (IPS): verify a signed copy, rotate the signing key.",
    no_args_is_help=True,
)


@summary_app.command("verify")
def verify(
    file: Annotated[
        Path, typer.Argument(help="a saved $summary Bundle, or its stored DocumentReference")
    ],
    keys: Annotated[
        Path | None, typer.Option("--keys", help="the published JWKS (or its Parameters)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Verify the detached JWS in a saved summary's Bundle.signature."""
    bundle = _json(file)
    if bundle.get("resourceType") == "DocumentReference":  # a stored summary ($summary-store)
        bundle = archive.stored_bundle(bundle)
    try:
        kid = signing.verify(bundle, _key_set(keys, data_dir))
    except signing.SignatureInvalid as exc:
        typer.echo(f"INVALID: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"valid: signed by key {kid} at {bundle['signature'].get('when')}")


@summary_app.command("rotate-key")
def rotate_key(data_dir: DataDir = None) -> None:
    """Make a new summary signing key: it signs from now on, the older keys stay published
    (so what they signed still verifies)."""
    directory = settings_from_env().with_overrides(data_dir=data_dir).data_dir
    kid = signing.rotate(datetime.now(UTC), directory)
    count = len(signing.key_files(directory))
    typer.echo(f"new signing key {kid}; {count} keys published")


@summary_app.command("retire-key")
def retire_key(
    kid: Annotated[str, typer.Argument(help="the key id (kid) of an older key")],
    data_dir: DataDir = None,
) -> None:
    """Drop an older signing key's private half; its public half stays published.

    A kid that starts with "-" (base64url) goes after "--": `retire-key -- -Tx…`."""
    directory = settings_from_env().with_overrides(data_dir=data_dir).data_dir
    try:
        signing.retire(kid, directory)
    except (KeyError, ValueError) as exc:
        raise OperatorError(str(exc).strip("'\"")) from None
    typer.echo(f"retired key {kid}: it signs no more, and still verifies what it signed")


def _key_set(keys: Path | None, data_dir: Path | None) -> dict[str, Any]:
    if keys is not None:
        found = _json(keys)
        if found.get("resourceType") == "Parameters":
            found = json.loads(found["parameter"][0]["valueString"])
        return found
    directory = settings_from_env().with_overrides(data_dir=data_dir).data_dir
    try:
        return signing.jwks(directory, create=False)
    except FileNotFoundError as exc:
        raise OperatorError(f"{exc}; name the published keys with --keys") from None


def _json(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OperatorError(f"cannot read {path}: {exc}") from None
    if not isinstance(found, dict):
        raise OperatorError(f"{path} does not hold a JSON object")
    return found
