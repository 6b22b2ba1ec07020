"""How long a PostgreSQL connection may stay silent before it counts as dead.

The server's `statement_timeout` does nothing when the database's host vanishes without a
reset (a network partition, a failed-over primary whose host is gone, a frozen server): a
statement sent then waits for the kernel's retransmission limit (~15 minutes), a connect
for psycopg's default of 130 s per host, an idle connection for ever. One setting,
`SAMHANDLING_DATABASE_DEAD_AFTER_MS`, bounds that silence on every connection, the
engine's (worker threads) and the event loop's (`store/loop_pool.py`), as libpq options:

- `connect_timeout` (per host of a multi-host URL; libpq takes at least 2 s),
- `tcp_user_timeout`: data sent and not acknowledged for that long ends the connection,
- TCP keepalives: idle half of it, then 3 probes spread over the rest, so a connection
  waiting for an answer (or idle in a pool) from a host that is gone ends in about as
  long. A busy server's host answers the probes: a long statement is not cut.

Options the URL sets itself (`?connect_timeout=…`) win. SQLite has none of this.

A frozen server whose host still acknowledges at TCP level is caught by none of these: the
statements on the event loop have deadlines of their own from the same setting
(`dead_after_ms(engine)`: the loop pool's, the audit journal's watchdog).
"""

from __future__ import annotations

import math
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.engine import URL

# 30 s: as the statement timeout and the waits for a pooled connection, so no request
# waits on a silent database longer than on anything else, and within the 30-60 s clients
# give a request. On a LAN a connection silent that long is dead (retransmissions come
# within a second or two; a false alarm costs the requests on that connection a 503), and
# a multi-host URL's next connect finds a promoted standby (docs/SCALING.md).
DEAD_AFTER_MS = 30_000
KEEPALIVE_PROBES = 3
_DEAD_AFTER: WeakKeyDictionary[Engine, int] = WeakKeyDictionary()


def libpq_options(dead_after_ms: int) -> dict[str, str]:
    """The libpq options that end a connection silent for `dead_after_ms` (> 0)."""
    if dead_after_ms <= 0:
        raise ValueError(f"the database's dead-after bound must be positive: {dead_after_ms}")
    seconds = math.ceil(dead_after_ms / 1000)
    idle = max(1, seconds // 2)
    return {
        "connect_timeout": str(max(2, seconds)),
        "keepalives": "1",
        "keepalives_idle": str(idle),
        "keepalives_interval": str(max(1, (seconds - idle) // KEEPALIVE_PROBES)),
        "keepalives_count": str(KEEPALIVE_PROBES),
        "tcp_user_timeout": str(dead_after_ms),
    }


def options_for(url: URL, dead_after_ms: int) -> dict[str, str]:
    """The options for connections to `url`: those its query does not set itself."""
    return {k: v for k, v in libpq_options(dead_after_ms).items() if k not in url.query}


def note(engine: Engine, dead_after_ms: int) -> None:
    """`engine` was made with `dead_after_ms`: the event loop's connections to its
    database take the same bound (`loop_options`, `dead_after_ms`)."""
    _DEAD_AFTER[engine] = dead_after_ms


def dead_after_ms(engine: Engine) -> int:
    """The bound `engine` was made with (the default for an engine made elsewhere)."""
    return _DEAD_AFTER.get(engine, DEAD_AFTER_MS)


def loop_options(engine: Engine) -> dict[str, str]:
    """The libpq options of `engine`'s connections, for a connection of the event loop."""
    return options_for(engine.url, dead_after_ms(engine))
