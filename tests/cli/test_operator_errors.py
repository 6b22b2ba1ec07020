"""Operator mistakes give one clear line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from fixtures.databases import postgres_admin_url
from fixtures.server_process import free_port
from samhandling.cli.operator_errors import OperatorError, open_database
from samhandling.store.database import make_engine


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "samhandling.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for phrase in expected:
        assert phrase in lines[0]


def test_import_of_a_missing_path(tmp_path: Path) -> None:
    result = run_cli("import", str(tmp_path / "nowhere.json"), cwd=tmp_path)
    assert_one_line_error(result, "no such file or directory", "nowhere.json")


def _postgres_base() -> str:
    return postgres_admin_url().rsplit("/", 1)[0]


@pytest.mark.postgres
def test_serve_against_a_missing_postgres_database_says_how_to_create_it(
    tmp_path: Path, postgres_database_url: str
) -> None:
    missing = f"samhandling_missing_{uuid.uuid4().hex[:8]}"
    result = run_cli(
        "serve", "--database", f"{_postgres_base()}/{missing}", "--port", "1", cwd=tmp_path
    )
    assert_one_line_error(result, f'"{missing}" does not exist', "createdb", "--create-database")


def test_serve_against_an_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    result = run_cli("serve", "--database", url, "--port", "1", cwd=tmp_path)
    assert_one_line_error(result, "cannot use the database", "Connection refused")


def test_serve_with_a_service_that_cannot_be_loaded(tmp_path: Path) -> None:
    for path, phrase in [
        ("no_such_module:SERVICE", "No module named 'no_such_module'"),
        ("samhandling.services:platform_services", "is not a samhandling Service"),
    ]:
        result = run_cli("serve", "--service", path, "--port", "1", cwd=tmp_path)
        assert_one_line_error(result, f"service '{path}'", phrase)


def test_a_bad_option_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    result = run_cli("serve", "--no-such-option", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "No such option" in result.stderr


def test_a_token_for_an_unknown_persona(tmp_path: Path) -> None:
    result = run_cli("token", "--persona", "nobody", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert_one_line_error(result, "unknown persona 'nobody'", "gp")


def test_a_parent_token_for_somebody_elses_child_is_refused_at_minting(tmp_path: Path) -> None:
    result = run_cli(
        "token", "--persona", "parent", "--patient", "05858540072", "--data-dir", str(tmp_path),
        cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(result, "acts for its own child only")


@pytest.mark.postgres
def test_create_database_creates_a_missing_postgres_database(postgres_database_url: str) -> None:
    name = f"samhandling_created_{uuid.uuid4().hex[:8]}"
    engine = open_database(f"{_postgres_base()}/{name}", create_missing=True)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM resource")).scalar_one() == 0
    finally:
        engine.dispose()
        admin = make_engine(postgres_admin_url()).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_without_create_database_a_missing_database_stays_missing(
    postgres_database_url: str,
) -> None:
    name = f"samhandling_absent_{uuid.uuid4().hex[:8]}"
    with pytest.raises(OperatorError, match="does not exist"):
        open_database(f"{_postgres_base()}/{name}")
