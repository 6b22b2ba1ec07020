"""The order `./dev test` hands files to its workers in (tests/fixtures/suite_order.py): the
files with a `slow` test first, the rest by their number of tests, each file's tests kept
together and in their order."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fixtures.suite_order import slow_files_first


def _item(path: str, name: str, *, slow: bool = False) -> Any:
    marker = SimpleNamespace(name="slow") if slow else None
    return SimpleNamespace(
        path=Path(path),
        name=name,
        get_closest_marker=lambda wanted: marker if wanted == "slow" else None,
    )


def _order(items: list[Any]) -> list[str]:
    return [f"{item.path}::{item.name}" for item in items]


def test_files_with_a_slow_test_go_first_and_the_rest_by_their_number_of_tests() -> None:
    items = [
        _item("a.py", "one"),
        _item("b.py", "one"),
        _item("b.py", "two"),
        _item("c.py", "import", slow=True),  # one slow test: was last by its count alone
        _item("d.py", "one"),
        _item("d.py", "two"),
        _item("d.py", "three"),
    ]
    slow_files_first(items)
    assert _order(items) == [
        "c.py::import",
        "d.py::one",
        "d.py::two",
        "d.py::three",
        "b.py::one",
        "b.py::two",
        "a.py::one",
    ]


def test_a_slow_test_takes_its_whole_file_first_in_its_order() -> None:
    items = [_item("a.py", "one"), _item("e.py", "x"), _item("e.py", "y", slow=True)]
    slow_files_first(items)
    assert _order(items) == ["e.py::x", "e.py::y", "a.py::one"]


def test_this_session_ran_the_slow_files_first(request: pytest.FixtureRequest) -> None:
    """The collection hook ran: no file without a slow test comes before one with it."""
    items = request.session.items
    slow = [item.get_closest_marker("slow") is not None for item in items]
    if not any(slow):  # a run without the slow tests (this file alone)
        pytest.skip("no slow test in this run")
    files = list(dict.fromkeys(item.path for item in items))
    slow_files = {item.path for item, is_slow in zip(items, slow, strict=True) if is_slow}
    first_plain = next((i for i, path in enumerate(files) if path not in slow_files), None)
    assert first_plain is None or all(files.index(path) < first_plain for path in slow_files)
