"""The summary signing keys: published at a `.well-known` route without a token, and
rotated — the newest key signs, summaries signed by an older key still verify."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from fixtures.critical_information import CITIZEN, World
from samhandling.cli.main import app
from samhandling.services.patient_summary import signing

WELL_KNOWN = "/.well-known/summary-signing-keys.json"


def _summary(world: World) -> dict[str, Any]:
    answer = world.client.get(f"/fhir/Patient/{CITIZEN}/$summary", headers=world.as_("gp"))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _published(world: World) -> dict[str, Any]:
    answer = world.client.get(WELL_KNOWN)  # no token: public keys for anyone verifying
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/jwk-set+json")
    keys = dict(answer.json())
    assert all("d" not in key for key in keys["keys"])  # never the private half
    return keys


def test_the_keys_are_published_and_verify_a_summary(world: World) -> None:
    summary = _summary(world)
    keys = _published(world)
    assert len(keys["keys"]) == 1
    assert signing.verify(summary, keys) == keys["keys"][0]["kid"]


def test_after_a_rotation_the_newest_key_signs_and_old_summaries_still_verify(
    world: World,
) -> None:
    before = _summary(world)
    old_kid = signing.verify(before, _published(world))
    new_kid = signing.rotate(datetime(2026, 12, 1, 12, tzinfo=UTC), world.data_dir)
    keys = _published(world)
    assert [k["kid"] for k in keys["keys"]] == [new_kid, old_kid]  # newest first
    after = _summary(world)
    assert signing.verify(after, keys) == new_kid
    assert signing.verify(before, keys) == old_kid
    only_old = {"keys": [k for k in keys["keys"] if k["kid"] == old_kid]}
    with pytest.raises(signing.SignatureInvalid):
        signing.verify(after, only_old)


def test_the_command_line_rotates_the_key(world: World) -> None:
    first = signing.signing_key(world.data_dir).kid
    result = CliRunner().invoke(app, ["summary", "rotate-key", "--data-dir", str(world.data_dir)])
    assert result.exit_code == 0, result.output
    newest = signing.signing_key(world.data_dir).kid
    assert newest != first and newest in result.output
    assert len(signing.jwks(world.data_dir)["keys"]) == 2


def test_an_older_key_is_retired_and_still_verifies(world: World) -> None:
    before = _summary(world)
    old_kid = signing.verify(before, _published(world))
    with pytest.raises(ValueError, match="rotate"):
        signing.retire(old_kid, world.data_dir)  # the newest signs: never retired
    signing.rotate(datetime(2026, 12, 2, tzinfo=UTC), world.data_dir)
    runner = CliRunner()
    result = runner.invoke(
        # a kid (an RFC 7638 thumbprint, base64url) starts with "-" 1 time in 64: after
        # "--" it is never taken for an option
        app,
        ["summary", "retire-key", "--data-dir", str(world.data_dir), "--", old_kid],
    )
    assert result.exit_code == 0, result.output
    retired = json.loads(signing.key_files(world.data_dir)[0].read_text())
    assert retired["kid"] == old_kid and "d" not in retired  # the private half is gone
    keys = _published(world)
    assert len(keys["keys"]) == 2 and signing.verify(before, keys) == old_kid
    assert signing.verify(_summary(world), keys) != old_kid
    unknown = runner.invoke(
        app, ["summary", "retire-key", "no-such-kid", "--data-dir", str(world.data_dir)]
    )
    assert unknown.exit_code != 0 and "no summary signing key" in str(unknown.exception)
    dashed = runner.invoke(
        app, ["summary", "retire-key", "--data-dir", str(world.data_dir), "--", "-Tx-no-such"]
    )  # looked up as a kid, not refused as an option
    assert dashed.exit_code != 0 and "no summary signing key -Tx-no-such" in str(dashed.exception)
