"""What the store hands back: one stored version of a resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from samhandling.fhir import json_codec
from samhandling.fhir.indexing.rows import ResourceIndex


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One version of a resource as stored; `content` is the JSON with `meta` filled in;
    `facts` its policy facts (`store/policy_facts.py`) when the reader asked for them;
    `index` the index values its writer extracted (a version just written; None when
    read)."""

    resource_type: str
    resource_id: str
    version_id: int
    last_updated_us: int
    tx_id: int
    deleted: bool
    content: bytes | None
    method: str = "update"
    facts: bytes | None = None
    index: ResourceIndex | None = field(default=None, compare=False, repr=False)

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

    def judged(self) -> dict[str, Any]:
        """The resource parsed only to be judged and named in the audit record, never shown
        (a read answers with `content` itself): orjson's plain parse, without the exact pass
        that keeps each decimal as written, which no access decision reads."""
        if self.content is None:
            raise ValueError("a deleted version has no content")
        parsed: dict[str, Any] = orjson.loads(self.content)
        return parsed
