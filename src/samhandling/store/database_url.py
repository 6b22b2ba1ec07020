"""Database URLs as operators write them, in the spelling SQLAlchemy and psycopg 3 take."""

from __future__ import annotations

from pathlib import Path

_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def normalise_url(url: str) -> str:
    """Accept `postgresql://…` and `sqlite:///…`; pick the drivers we ship (psycopg 3).

    A libpq multi-host URL (`postgresql://user@h1:5432,h2:5432/db?target_session_attrs=
    read-write`, as `pg_autoctl show uri` prints it) becomes SQLAlchemy's spelling of the
    same, one `host=h:p` per host (`postgresql+psycopg://user@/db?host=h1:5432&host=
    h2:5432&…`), which SQLAlchemy hands to libpq as `host=h1,h2 port=5432,5432`. libpq
    tries the hosts in turn and keeps the first that satisfies `target_session_attrs`
    (docs/SCALING.md).
    """
    if url.startswith(_POSTGRES_SCHEMES):
        return "postgresql+psycopg://" + _hosts_as_query(url.split("://", 1)[1])
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return url


def _hosts_as_query(rest: str) -> str:
    """`user@h1:p1,h2:p2/db?q` -> `user@/db?host=h1:p1&host=h2:p2&q`; others unchanged."""
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    user, at, hosts = authority.rpartition("@")
    if "," not in hosts:
        return rest
    path, _, query = tail.partition("?")
    pairs = "&".join(f"host={host}" for host in hosts.split(",") if host)
    return f"{user}{at}{path or '/'}?{pairs}{'&' + query if query else ''}"
