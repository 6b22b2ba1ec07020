"""The DPoP replay table: one acceptance per proof, on both databases, also under races."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, select

from samhandling.store.database import make_engine, read_connection
from samhandling.store.dpop_replay import first_use, purge_expired
from samhandling.store.schema import dpop_replay

KEY = "a" * 64
NOW = 1_800_000_000_000_000


def rows(engine: Engine) -> int:
    with read_connection(engine) as connection:
        return int(connection.execute(select(func.count()).select_from(dpop_replay)).scalar_one())


def test_a_proof_is_accepted_once(engine: Engine) -> None:
    assert first_use(engine, KEY, NOW + 150_000_000, NOW)
    assert not first_use(engine, KEY, NOW + 150_000_000, NOW)
    assert not first_use(engine, KEY, NOW + 160_000_000, NOW + 10_000_000)
    assert first_use(engine, "b" * 64, NOW + 150_000_000, NOW)
    assert rows(engine) == 2


def test_an_expired_row_may_be_taken_over(engine: Engine) -> None:
    assert first_use(engine, KEY, NOW, NOW - 150_000_000)
    assert first_use(engine, KEY, NOW + 150_000_000, NOW)
    assert not first_use(engine, KEY, NOW + 150_000_000, NOW + 1)


def test_purge_removes_only_expired_rows(engine: Engine) -> None:
    first_use(engine, "a" * 64, NOW - 1, NOW - 100)
    first_use(engine, "b" * 64, NOW, NOW - 100)
    first_use(engine, "c" * 64, NOW + 1, NOW - 100)
    assert purge_expired(engine, NOW) == 2
    assert rows(engine) == 1
    assert not first_use(engine, "c" * 64, NOW + 1, NOW)


def test_concurrent_inserts_of_one_proof_accept_exactly_one(database_url: str) -> None:
    """Separate engines (as separate worker processes have) race for the same proof."""
    engines = [make_engine(database_url) for _ in range(4)]
    try:
        for round_ in range(5):
            key = f"{round_:064d}"
            with ThreadPoolExecutor(len(engines)) as pool:
                results = list(pool.map(lambda e, k=key: first_use(e, k, NOW + 1, NOW), engines))
            assert results.count(True) == 1, results
    finally:
        for engine in engines:
            engine.dispose()
