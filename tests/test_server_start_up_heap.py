"""The server's start-up objects are frozen out of the collector's full passes
(`server.freeze_start_up_objects`) and its young collections spaced
(`server.space_young_collections`), by `serve`'s factory only."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from samhandling import server


class _Node:
    """A container the cyclic collector tracks."""

    def __init__(self) -> None:
        self.partner: _Node | None = None


@pytest.fixture
def thawed() -> Iterator[None]:
    """Every object the test froze goes back to the collector afterwards, and the
    collector's thresholds are the test process's own again."""
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def _in_oldest_generation(obj: object) -> bool:
    return any(candidate is obj for candidate in gc.get_objects(generation=2))


def test_start_up_garbage_is_collected_and_live_objects_leave_the_full_passes(
    thawed: None,
) -> None:
    kept = _Node()
    gc.collect()
    assert _in_oldest_generation(kept)
    gc.disable()  # no automatic collection between here and the freeze
    try:
        garbage = _Node()
        garbage.partner = garbage  # a cycle: only the cyclic collector frees it
        gone = weakref.ref(garbage)
        del garbage
        assert gone() is not None
        frozen = server.freeze_start_up_objects()
    finally:
        gc.enable()
    assert gone() is None  # collected before the freeze, not kept for ever
    assert frozen == gc.get_freeze_count() > 0
    assert not _in_oldest_generation(kept)  # full passes no longer walk it


def test_the_serve_factory_freezes_after_building_the_application(
    thawed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []

    def create_app(settings: object) -> object:
        built.append(gc.get_freeze_count())
        return server  # stands for the application

    monkeypatch.setattr(server, "create_app", create_app)
    monkeypatch.setattr(server, "configure_logging", lambda level: None)
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    assert server.create_app_from_env() is server
    assert built == [0] and gc.get_freeze_count() > 0
    assert gc.get_threshold() == (server.YOUNG_GENERATION_THRESHOLD, 10, 10)


def test_young_collections_wait_for_the_threshold_of_net_allocations(thawed: None) -> None:
    gc.set_threshold(700, 7, 9)
    assert server.space_young_collections() == (server.YOUNG_GENERATION_THRESHOLD, 7, 9)
    young: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 0:
            young.append(1)

    gc.collect()
    gc.callbacks.append(count)
    try:
        kept: list[list[int]] = [[] for _ in range(20_000)]  # 20,000 net allocations
        assert not young  # at CPython's 700 there would have been ≈ 28 passes
        kept.extend([] for _ in range(server.YOUNG_GENERATION_THRESHOLD))
        assert young  # past the threshold the young generation is collected
    finally:
        gc.callbacks.remove(count)
