"""New request ids are as `uuid.uuid4().hex` made them (issue 24 makes them without the
`UUID` object): 32 hex digits of a random version-4 UUID, one per request."""

from __future__ import annotations

import uuid

from samhandling.observability.request_context import new_request_id, request_id_from


def test_a_new_id_is_a_random_version_4_uuid_in_hex() -> None:
    ids = [new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for found in ids:
        parsed = uuid.UUID(hex=found)
        assert parsed.hex == found and len(found) == 32
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # every other bit is random: each of them is seen both set and clear
    fixed = uuid.UUID(int=0xF000 << 64 | 0xC000 << 48).int
    seen_set = seen_clear = 0
    for found in ids:
        value = int(found, 16)
        seen_set |= value
        seen_clear |= ~value
    assert seen_set & ~fixed == seen_clear & ~fixed & (2**128 - 1) == (2**128 - 1) & ~fixed


def test_a_plain_client_id_is_kept_and_anything_else_replaced() -> None:
    assert request_id_from("abc-123") == "abc-123"
    replaced = request_id_from("not plain!")
    assert uuid.UUID(hex=replaced).version == 4
    assert uuid.UUID(hex=request_id_from(None)).version == 4
