"""Server-assigned logical ids: version-7 UUIDs, ordered by the time they were made.

A create without an id (R4 §3.1.0.4: "the server assigns a new id") gets a UUID of
version 7 (RFC 9562 §5.7): 48 bits of Unix time in milliseconds, then the version, 12
random bits, the variant and 62 random bits. Every table and index the write path fills is
keyed by the resource's id (the current row, its versions, each index table's probe by
resource, the compartment); with random (version 4) ids each insert lands on a random leaf
page of each of those indexes, so the pages a second's writes touch grow with the table and
stop fitting in memory at the national service's volumes. Ids made close in time sort
close together: a second's inserts share the rightmost pages. Measured in
bench/RESULTS.md ("Time-ordered resource ids").

Written here rather than taken from a library: Python 3.11's `uuid` has no `uuid7` (it
comes in 3.14), and the `uuid6` package's `uuid7()` moves its clock a millisecond ahead for
each id made within one millisecond (monotonic by borrowing time), which at thousands of
ids a second would run ahead of the real clock. Ids made in the same millisecond are not
ordered among themselves here; nothing relies on that.

The id still carries 74 random bits: it is not guessable from another one (the access
policy guards every read regardless). It does tell when the resource was created, which
`meta.lastUpdated` of its first version and its history already say to whoever may read it.
"""

from __future__ import annotations

import os
import time

__all__ = ["new_resource_id"]

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62
_RAND_B = (1 << 62) - 1
_MS_BITS = (1 << 48) - 1


def new_resource_id(now_ns: int | None = None) -> str:
    """A new logical id: a version-7 UUID for the time `now_ns` (nanoseconds since the
    epoch; the clock's time when not given), in its canonical lower-case text form."""
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits: 12 for rand_a, 62 for rand_b
    value = (ms & _MS_BITS) << 80 | _VERSION_7 | (rand >> 68) << 64 | _VARIANT_RFC
    value |= rand & _RAND_B
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
