"""The search tests' kit: a store to write resources to and a way to search it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Engine

from samhandling.interactions import search
from samhandling.search.restriction import SearchRestriction
from samhandling.store.database import read_connection, write_connection
from samhandling.store.version_writer import VersionWriter

BASE = "http://example.org/fhir"


class SearchStore:
    """Writes resources with given ids and runs searches against them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, *resources: dict[str, Any]) -> None:
        with write_connection(self.engine) as connection:
            writer = VersionWriter(connection)
            for body in resources:
                body = dict(body)
                current = writer.current(body["resourceType"], body["id"])
                method = "update" if current else "create"
                writer.write(
                    body["resourceType"], body["id"], body, method=method, previous=current
                )

    def delete(self, resource_type: str, resource_id: str) -> None:
        with write_connection(self.engine) as connection:
            writer = VersionWriter(connection)
            current = writer.current(resource_type, resource_id)
            writer.write(resource_type, resource_id, None, method="delete", previous=current)

    def bundle(
        self,
        resource_type: str,
        query: str = "",
        *,
        restriction: SearchRestriction | None = None,
        lenient: bool = False,
    ) -> dict[str, Any]:
        items = parse_qsl(query, keep_blank_values=True)
        with read_connection(self.engine) as connection:
            return search.search(
                connection, resource_type, items, BASE, lenient=lenient, restriction=restriction
            )

    def ids(self, resource_type: str, query: str = "", **options: Any) -> list[str]:
        bundle = self.bundle(resource_type, query, **options)
        return [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"]

    def found(self, resource_type: str, query: str = "", **options: Any) -> set[str]:
        return set(self.ids(resource_type, query + "&_count=1000", **options))
