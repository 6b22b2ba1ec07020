"""Every phase set of `--phases` names functions the server has (bench/phases.py): a name
that no longer exists would stop the probe when the server starts."""

from __future__ import annotations

import importlib
import inspect

import pytest
from bench.phases import PHASE_SETS


@pytest.mark.parametrize("name", sorted(PHASE_SETS))
def test_each_target_is_a_plain_function_of_the_server(name: str) -> None:
    assert {"bundle", "audit", "write"} <= set(PHASE_SETS)
    for target in PHASE_SETS[name]:
        module_name, _, qualified = target.partition(":")
        owner: object = importlib.import_module(module_name)
        for part in qualified.split("."):
            owner = getattr(owner, part)
        assert callable(owner), target
        assert not inspect.iscoroutinefunction(owner), target
