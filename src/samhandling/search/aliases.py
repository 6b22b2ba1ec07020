"""Table aliases for search SQL, made once per process and reused by every search.

Making an alias copies every column of its table into the alias's column collection
(SQLAlchemy's column proxies): for the wide index tables that was a tenth of a search's
server CPU (py-spy, `bench.run full --workloads search`), paid again for every criterion
of every search. An alias is an immutable description (`FROM index_token AS <anon>`), so
the same object can serve any number of statements; only within one statement must two
uses be two aliases. `TableAliases` hands a builder the 1st, 2nd, … pooled alias of a
table, never one twice, so the SQL is the same as with fresh aliases.
"""

from __future__ import annotations

import threading
from typing import Any

#: pooled aliases per table; a builder needing more gets fresh ones (a search with very
#: many criteria) instead of growing the pool without bound
MAX_POOLED = 32

_pool: dict[Any, list[Any]] = {}
_lock = threading.Lock()


class TableAliases:
    """Distinct aliases of tables for the statements of one builder."""

    def __init__(self) -> None:
        self._taken: dict[Any, int] = {}

    def take(self, table: Any) -> Any:
        """An alias of `table` not handed out before by this object."""
        n = self._taken.get(table, 0)
        self._taken[table] = n + 1
        return pooled(table, n)


def pooled(table: Any, n: int) -> Any:
    """The `n`-th pooled alias of `table` (a fresh one beyond MAX_POOLED)."""
    aliases = _pool.get(table)
    if aliases is not None and n < len(aliases):
        return aliases[n]
    if n >= MAX_POOLED:
        return table.alias()
    with _lock:
        aliases = _pool.setdefault(table, [])
        while len(aliases) <= n:
            alias = table.alias()
            _ = alias.c  # fill the column collection now, not while another thread reads it
            aliases.append(alias)
        return aliases[n]
