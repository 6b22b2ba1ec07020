"""The Provenance that name given resources as their `target`, found through the search
engine (`Provenance?target=Type/id,...`), for a bulk export's `includeAssociatedData`
(docs/BULK_EXPORT.md). Like every search it matches current versions; the export reads
the versions of its snapshot itself."""

from __future__ import annotations

from sqlalchemy import Connection

from samhandling.search.query import parse_search
from samhandling.search.sql import custom_plans, matching_resources

#: references per statement: the search takes at most 100 values in one parameter
_REFERENCES_PER_QUERY = 90


def provenance_targeting(
    connection: Connection, references: list[str], base_url: str | None = None
) -> set[str]:
    """The ids of the current Provenance whose `target` is one of `references`
    (`Type/id`; a version-specific target counts for its resource)."""
    found: set[str] = set()
    if not references:
        return found
    custom_plans(connection)
    for start in range(0, len(references), _REFERENCES_PER_QUERY):
        chunk = ",".join(references[start : start + _REFERENCES_PER_QUERY])
        query = parse_search("Provenance", [("target", chunk)], base_url=base_url)
        stmt = matching_resources(query, connection=connection)
        found.update(str(row[1]) for row in connection.execute(stmt))
    return found
