"""Settings of a samhandling process, from command-line options or environment variables.

| variable | default | meaning |
|---|---|---|
| SAMHANDLING_DATA_DIR | ./data | local data directory (SQLite file, dev-issuer key) |
| SAMHANDLING_DATABASE_URL | sqlite:///<data dir>/samhandling.db | sqlite or postgresql URL |
| SAMHANDLING_DATABASE_REPLICA_URL | (none) | a streaming replica for reads (docs/SCALING.md) |
| SAMHANDLING_REPLICA_MAX_LAG_SECONDS | 2 | staleness bound of a replica read without a position |
| SAMHANDLING_STORE_LAYOUT | plain | patient-partitioned: partitioned by patient (store/layout.py) |
| SAMHANDLING_BASE_URL | http://localhost:8080/fhir | the public FHIR base URL |
| SAMHANDLING_MAX_BODY_BYTES | 10485760 | largest accepted request body (413 above) |
| SAMHANDLING_MAX_DOCUMENT_BYTES | 104857600 | largest raw document (`POST /Binary`) |
| SAMHANDLING_STATEMENT_TIMEOUT_MS | 30000 | longest database statement (503 above; 0: none) |
| SAMHANDLING_DATABASE_DEAD_AFTER_MS | 30000 | a PostgreSQL connection silent this long is dead |
| SAMHANDLING_LOG_LEVEL | INFO | log level of the JSON logs |
| SAMHANDLING_DEV_ISSUER | 0 | 1: run the built-in development token issuer and trust it |
| SAMHANDLING_PRODUCTION | 0 | 1: production mode (the development issuer refuses to start) |
| SAMHANDLING_TRUSTED_ISSUERS | [] | JSON list of {"issuer", "jwks_uri", "kind": helseid/idporten} |
| SAMHANDLING_AUDIENCE | samhandling | the `aud` access tokens must carry |
| SAMHANDLING_REQUIRE_DPOP | 0 | 1: refuse Bearer tokens, accept only DPoP-bound ones |
| SAMHANDLING_CHECK_REGISTERS | 1 | 0: do not check callers against the HPR/organisation registers |
| SAMHANDLING_BENCHMARK_WITHOUT_AUDIT | 0 | 1: no audit trail, only to measure its cost |
| SAMHANDLING_PUBLISH_DEFINITIONS | 1 | 0: do not store the shipped definitions at start |
| SAMHANDLING_EXPORT_ROWS_PER_SECOND | 2000 | `$export` worker pace, resources/s (0: unbounded) |
| SAMHANDLING_DOCUMENT_PEERS | (none) | JSON file naming the document-sharing peers |
| SAMHANDLING_CORS_ORIGINS | (none) | comma-separated browser origins allowed to call the API |
| SAMHANDLING_WEB_OIDC_ISSUER | (the dev issuer) | the OpenID provider of the web views |
| SAMHANDLING_WEB_CLIENT_ID | samhandling-web | the web views' client id at that provider |
| SAMHANDLING_WEB_CLIENT_SECRET | (none) | their client secret (client_secret_basic) |
| SAMHANDLING_WEB_CLIENT_KEY | (none) | or a private JWK file: private_key_jwt |
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
    #: a streaming replica of the database: routed reads go there when it is current enough
    database_replica_url: str = ""
    replica_max_lag_seconds: float = 2.0
    max_body_bytes: int = 10 * 1024 * 1024
    #: largest raw document body (`POST /Binary` with a non-FHIR Content-Type), streamed to
    #: the content store: apart from the FHIR JSON limit above
    max_document_bytes: int = 100 * 1024 * 1024
    statement_timeout_ms: int = 30_000
    #: a PostgreSQL connection silent this long is dropped (libpq's connect timeout, TCP
    #: keepalives and user timeout; the event loop's deadlines: store/liveness.py)
    database_dead_after_ms: int = 30_000
    log_level: str = "INFO"
    dev_issuer: bool = False
    production: bool = False
    trusted_issuers: str = "[]"  # JSON, see the module docstring
    audience: str = "samhandling"
    require_dpop: bool = False
    check_registers: bool = True
    audit: bool = True
    publish_definitions: bool = True
    #: further services to run beside the platform's, as `module:attribute` import paths
    services: tuple[str, ...] = ()
    #: run the services' background workers (notification delivery, exports) in this
    #: process; off for API-only processes when other processes run them
    background_workers: bool = True
    #: the pace of the bulk export worker, resources read per second (0: no bound)
    export_rows_per_second: float = 2_000.0
    #: the JSON file naming the document-sharing peers (other collaboration areas), or ""
    document_peers: str = ""
    #: browser origins allowed to call the API (CORS), e.g. a SMART app's
    cors_origins: tuple[str, ...] = ()
    #: the web views' OpenID provider (its issuer URL; discovery at
    #: `/.well-known/openid-configuration`); empty: the development issuer
    web_oidc_issuer: str = ""
    web_client_id: str = "samhandling-web"
    web_client_secret: str = ""
    web_client_key: str = ""  # path of a private JWK: authenticate with private_key_jwt
    #: signs the web views' session cookies; empty: a key kept in the data directory
    web_session_key: str = ""

    @property
    def public_root(self) -> str:
        """The server's public root URL (the FHIR base without `/fhir`)."""
        return self.base_url.removesuffix("/fhir")

    @property
    def dev_issuer_url(self) -> str:
        return self.public_root + "/dev-issuer"

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
        database_replica_url=env.get("SAMHANDLING_DATABASE_REPLICA_URL", ""),
        replica_max_lag_seconds=float(env.get("SAMHANDLING_REPLICA_MAX_LAG_SECONDS", "2")),
        base_url=env.get("SAMHANDLING_BASE_URL", f"http://localhost:{DEFAULT_PORT}/fhir").rstrip(
            "/"
        ),
        max_body_bytes=int(env.get("SAMHANDLING_MAX_BODY_BYTES", str(10 * 1024 * 1024))),
        max_document_bytes=int(env.get("SAMHANDLING_MAX_DOCUMENT_BYTES", str(100 * 1024 * 1024))),
        statement_timeout_ms=int(env.get("SAMHANDLING_STATEMENT_TIMEOUT_MS", "30000")),
        database_dead_after_ms=_positive(env, "SAMHANDLING_DATABASE_DEAD_AFTER_MS", "30000"),
        log_level=env.get("SAMHANDLING_LOG_LEVEL", "INFO"),
        dev_issuer=_flag(env.get("SAMHANDLING_DEV_ISSUER")),
        production=_flag(env.get("SAMHANDLING_PRODUCTION")),
        trusted_issuers=env.get("SAMHANDLING_TRUSTED_ISSUERS", "[]"),
        audience=env.get("SAMHANDLING_AUDIENCE", "samhandling"),
        require_dpop=_flag(env.get("SAMHANDLING_REQUIRE_DPOP")),
        check_registers=_flag(env.get("SAMHANDLING_CHECK_REGISTERS", "1")),
        audit=not _flag(env.get("SAMHANDLING_BENCHMARK_WITHOUT_AUDIT")),
        publish_definitions=_flag(env.get("SAMHANDLING_PUBLISH_DEFINITIONS", "1")),
        services=_names(env.get("SAMHANDLING_SERVICES", "")),
        background_workers=_flag(env.get("SAMHANDLING_BACKGROUND_WORKERS", "1")),
        export_rows_per_second=float(env.get("SAMHANDLING_EXPORT_ROWS_PER_SECOND", "2000")),
        document_peers=env.get("SAMHANDLING_DOCUMENT_PEERS", ""),
        cors_origins=_names(env.get("SAMHANDLING_CORS_ORIGINS", "")),
        web_oidc_issuer=env.get("SAMHANDLING_WEB_OIDC_ISSUER", "").rstrip("/"),
        web_client_id=env.get("SAMHANDLING_WEB_CLIENT_ID", "samhandling-web"),
        web_client_secret=env.get("SAMHANDLING_WEB_CLIENT_SECRET", ""),
        web_client_key=env.get("SAMHANDLING_WEB_CLIENT_KEY", ""),
        web_session_key=env.get("SAMHANDLING_WEB_SESSION_KEY", ""),
    )


def _positive(env: dict[str, str], name: str, default: str) -> int:
    value = int(env.get(name, default))
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of milliseconds, not {value}")
    return value


def _names(value: str) -> tuple[str, ...]:
    """A comma-separated list, blanks dropped."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def settings_to_env(settings: Settings) -> dict[str, str]:
    """The environment that reproduces `settings` in a worker process."""
    return {
        "SAMHANDLING_DATA_DIR": str(settings.data_dir),
        "SAMHANDLING_DATABASE_URL": settings.database_url,
        "SAMHANDLING_DATABASE_REPLICA_URL": settings.database_replica_url,
        "SAMHANDLING_REPLICA_MAX_LAG_SECONDS": str(settings.replica_max_lag_seconds),
        "SAMHANDLING_BASE_URL": settings.base_url,
        "SAMHANDLING_MAX_BODY_BYTES": str(settings.max_body_bytes),
        "SAMHANDLING_MAX_DOCUMENT_BYTES": str(settings.max_document_bytes),
        "SAMHANDLING_STATEMENT_TIMEOUT_MS": str(settings.statement_timeout_ms),
        "SAMHANDLING_DATABASE_DEAD_AFTER_MS": str(settings.database_dead_after_ms),
        "SAMHANDLING_LOG_LEVEL": settings.log_level,
        "SAMHANDLING_DEV_ISSUER": "1" if settings.dev_issuer else "0",
        "SAMHANDLING_PRODUCTION": "1" if settings.production else "0",
        "SAMHANDLING_TRUSTED_ISSUERS": settings.trusted_issuers,
        "SAMHANDLING_AUDIENCE": settings.audience,
        "SAMHANDLING_REQUIRE_DPOP": "1" if settings.require_dpop else "0",
        "SAMHANDLING_CHECK_REGISTERS": "1" if settings.check_registers else "0",
        "SAMHANDLING_BENCHMARK_WITHOUT_AUDIT": "0" if settings.audit else "1",
        "SAMHANDLING_PUBLISH_DEFINITIONS": "1" if settings.publish_definitions else "0",
        "SAMHANDLING_SERVICES": ",".join(settings.services),
        "SAMHANDLING_BACKGROUND_WORKERS": "1" if settings.background_workers else "0",
        "SAMHANDLING_EXPORT_ROWS_PER_SECOND": str(settings.export_rows_per_second),
        "SAMHANDLING_DOCUMENT_PEERS": settings.document_peers,
        "SAMHANDLING_CORS_ORIGINS": ",".join(settings.cors_origins),
        "SAMHANDLING_WEB_OIDC_ISSUER": settings.web_oidc_issuer,
        "SAMHANDLING_WEB_CLIENT_ID": settings.web_client_id,
        "SAMHANDLING_WEB_CLIENT_SECRET": settings.web_client_secret,
        "SAMHANDLING_WEB_CLIENT_KEY": settings.web_client_key,
        "SAMHANDLING_WEB_SESSION_KEY": settings.web_session_key,
    }
