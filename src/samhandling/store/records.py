"""What the store hands back: one stored version of a resource."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from samhandling.fhir import json_codec


def now_us() -> int:
    """The current time as microseconds since the Unix epoch (UTC)."""
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def us_to_datetime(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC)


def datetime_to_us(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def format_instant(value_us: int) -> str:
    """A FHIR `instant` (R4 §2.24.0.1) in UTC with microseconds: 2026-01-02T03:04:05.123456Z."""
    return us_to_datetime(value_us).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_http_date(value_us: int) -> str:
    """An RFC 9110 HTTP-date for Last-Modified."""
    return us_to_datetime(value_us).strftime("%a, %d %b %Y %H:%M:%S GMT")


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One version of a resource as stored; `content` is the JSON with `meta` filled in."""

    resource_type: str
    resource_id: str
    version_id: int
    last_updated_us: int
    tx_id: int
    deleted: bool
    content: bytes | None
    method: str = "update"

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'

    @property
    def location(self) -> str:
        return f"{self.resource_type}/{self.resource_id}/_history/{self.version_id}"

    def resource(self) -> dict[str, Any]:
        """The resource as a dict (a fresh copy each call)."""
        if self.content is None:
            raise ValueError("a deleted version has no content")
        parsed: dict[str, Any] = json_codec.parse(self.content)
        return parsed
