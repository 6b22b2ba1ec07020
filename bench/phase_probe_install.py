"""The phase probe's work inside the server process (`bench/phase_probe/sitecustomize.py`
loads it; `bench/phases.py` reads what it writes)."""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

DUMP_SECONDS = 0.5
_counts: dict[str, list[float]] = {}  # target -> [calls, thread CPU seconds]


def arm(targets: list[str], out: str) -> None:
    """Wrap `targets` once the app is built (every module imported), then write the counts
    to `out` every DUMP_SECONDS."""
    import samhandling.server as server

    built = server.create_app_from_env

    def create_app_from_env(*args: Any, **kwargs: Any) -> Any:
        app = built(*args, **kwargs)
        for target in targets:
            wrap(target)
        threading.Thread(target=_dump, args=(out,), name="phase-probe", daemon=True).start()
        return app

    server.create_app_from_env = create_app_from_env


def wrap(target: str) -> None:
    """Count calls of `module:qualified.name` (a function, method or static method) and the
    thread CPU they take; every module's reference to a module function is replaced."""
    module_name, _, qualified = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = qualified.split(".")
    for part in path:
        owner = getattr(owner, part)
    static = isinstance(inspect.getattr_static(owner, name), staticmethod)
    original = getattr(owner, name)
    if inspect.iscoroutinefunction(original):
        raise ValueError(f"{target}: a coroutine's thread CPU is not its own")
    counted = _counted(target, original)
    setattr(owner, name, staticmethod(counted) if static else counted)
    if not path:
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("samhandling"):
                for key, value in list(vars(module).items()):
                    if value is original:
                        setattr(module, key, counted)


def _counted(target: str, function: Callable[..., Any]) -> Callable[..., Any]:
    count = _counts.setdefault(target, [0, 0.0])
    clock = time.thread_time

    @functools.wraps(function)
    def counted(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        try:
            return function(*args, **kwargs)
        finally:
            count[1] += clock() - start
            count[0] += 1

    return counted


def probe_cost() -> float:
    """Seconds of CPU one probe adds to a call (two clock reads)."""
    clock, start = time.thread_time, time.perf_counter()
    for _ in range(2000):
        clock()
    return 2 * (time.perf_counter() - start) / 2000


def _dump(out: str) -> None:
    cost = probe_cost()
    while True:
        time.sleep(DUMP_SECONDS)
        snapshot = {"probe_cost_s": cost, "counts": _counts}
        with open(out + ".tmp", "wb") as file:
            file.write(orjson.dumps(snapshot))
        os.replace(out + ".tmp", out)
