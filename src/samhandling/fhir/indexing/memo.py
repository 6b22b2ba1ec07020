"""What was derived from a JSON value, remembered by the value's JSON text.

A measurement system sends the same elements over and over: every vital sign of a batch
has the same ``status`` and ``category``, one of five ``code``s, the subject and device of
its citizen. Their index rows and words are a function of those elements alone (see
``plans``), so ``values`` and ``text`` remember them by the elements' JSON text (orjson, in
C: a fraction of converting them again). The key is the value as the store writes it:
values that JSON cannot hold as they are (a ``Decimal`` keeping its written digits, a
``datetime``, a subclass of a JSON type) have no key and are converted every time.

The memo is bounded: when it is full it is emptied (the recurring values come back at
once). Threads share it: a lookup and an insert are single dict operations.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["ContentMemo", "Recurrence", "json_key"]

# Anything orjson would otherwise turn into a JSON type raises instead (dataclasses,
# datetimes, subclasses of str, int, dict and list): no key for those.
_STRICT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_STRICT |= orjson.OPT_PASSTHROUGH_SUBCLASS


def json_key(value: Any) -> bytes | None:
    """The JSON text of ``value``; None when it holds anything but JSON types."""
    try:
        return orjson.dumps(value, option=_STRICT)
    except orjson.JSONEncodeError:
        return None


class ContentMemo:
    """A bounded map from keys (holding JSON texts) to what was computed from them."""

    def __init__(self, size: int = 16_384) -> None:
        self.size = size
        self._found: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        return self._found.get(key)

    def put(self, key: Any, value: Any) -> None:
        found = self._found
        if len(found) >= self.size:
            found.clear()
        found[key] = value


class Recurrence:
    """Whether remembering pays, per source of values (a parameter, an element): a source
    whose values seldom recur (an identifier, a time) costs a JSON text and a miss each
    time and gains nothing. After `TRIES` lookups, a source that found fewer than
    `ENOUGH` of them is no longer remembered; its `RETRY`th value after that tries again
    (the data may change). Only ever decides what is remembered, never what is found."""

    TRIES = 64
    ENOUGH = 0.4
    RETRY = 4096

    def __init__(self) -> None:
        self._counts: dict[Any, list[int]] = {}  # source -> [lookups, found, skipped]

    def worth(self, source: Any) -> bool:
        counts = self._counts.get(source)
        if counts is None or counts[0] < self.TRIES or counts[1] >= self.ENOUGH * counts[0]:
            return True
        counts[2] += 1
        if counts[2] < self.RETRY:
            return False
        counts[:] = [0, 0, 0]
        return True

    def note(self, source: Any, found: bool) -> None:
        counts = self._counts.get(source)
        if counts is None:
            counts = self._counts.setdefault(source, [0, 0, 0])
        counts[0] += 1
        counts[1] += found
