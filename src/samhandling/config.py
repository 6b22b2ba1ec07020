"""Settings of a samhandling process, from command-line options or environment variables.

| variable | default | meaning |
|---|---|---|
| SAMHANDLING_DATA_DIR | ./data | local data directory (SQLite file, dev-issuer key) |
| SAMHANDLING_DATABASE_URL | sqlite:///<data dir>/samhandling.db | sqlite or postgresql URL |
| SAMHANDLING_BASE_URL | http://localhost:8080/fhir | the public FHIR base URL |
| SAMHANDLING_MAX_BODY_BYTES | 10485760 | largest accepted request body (413 above) |
| SAMHANDLING_LOG_LEVEL | INFO | log level of the JSON logs |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_PORT = 8080


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    base_url: str
    max_body_bytes: int = 10 * 1024 * 1024
    log_level: str = "INFO"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'samhandling.db').resolve()}"


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    """Settings from SAMHANDLING_* environment variables (see the module docstring)."""
    env = dict(os.environ) if env is None else env
    data_dir = Path(env.get("SAMHANDLING_DATA_DIR", "data"))
    return Settings(
        data_dir=data_dir,
        database_url=env.get("SAMHANDLING_DATABASE_URL") or default_database_url(data_dir),
        base_url=env.get("SAMHANDLING_BASE_URL", f"http://localhost:{DEFAULT_PORT}/fhir").rstrip(
            "/"
        ),
        max_body_bytes=int(env.get("SAMHANDLING_MAX_BODY_BYTES", str(10 * 1024 * 1024))),
        log_level=env.get("SAMHANDLING_LOG_LEVEL", "INFO"),
    )


def settings_to_env(settings: Settings) -> dict[str, str]:
    """The environment that reproduces `settings` in a worker process."""
    return {
        "SAMHANDLING_DATA_DIR": str(settings.data_dir),
        "SAMHANDLING_DATABASE_URL": settings.database_url,
        "SAMHANDLING_BASE_URL": settings.base_url,
        "SAMHANDLING_MAX_BODY_BYTES": str(settings.max_body_bytes),
        "SAMHANDLING_LOG_LEVEL": settings.log_level,
    }
