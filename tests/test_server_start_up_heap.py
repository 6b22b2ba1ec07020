"""The server's start-up objects are frozen out of the collector's full passes
(`server.freeze_start_up_objects`), by `serve`'s factory only."""

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
    """Every object the test froze goes back to the collector afterwards."""
    try:
        yield
    finally:
        gc.unfreeze()


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
    assert server.create_app_from_env() is server
    assert built == [0] and gc.get_freeze_count() > 0
