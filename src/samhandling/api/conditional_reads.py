"""Conditional reads (R4 §3.1.0.2 "read", RFC 9110 §13.1): `If-None-Match` and
`If-Modified-Since` answered with 304 Not Modified, so a client that polls pays a header.

`If-None-Match` lists entity tags (or `*`) compared weakly (RFC 9110 §8.8.3.2: `W/"2"`
matches `"2"`); when it is present `If-Modified-Since` is ignored (§13.1.3). A date that
cannot be parsed is ignored, as the RFC says, rather than refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime


def not_modified(headers: Mapping[str, str], etag: str | None, last_modified: str | None) -> bool:
    """Whether the request's preconditions say the client's copy is current."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if etag is None:
            return False
        tags = {_opaque(tag) for tag in if_none_match.split(",")}
        return "*" in tags or _opaque(etag) in tags
    since, modified = headers.get("if-modified-since"), last_modified
    if since is None or modified is None:
        return False
    try:
        return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False


def _opaque(tag: str) -> str:
    """The opaque part of an entity tag: `W/"2"` and `"2"` compare equal (weak comparison)."""
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag
