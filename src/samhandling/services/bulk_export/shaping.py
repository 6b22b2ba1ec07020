"""What a job does to the rows of its snapshot walk: `_typeFilter` (through the search
engine), `_elements`, and de-identification (`_deidentify`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from samhandling.auth.labels import labels_of
from samhandling.interactions.type_filter import matching_ids
from samhandling.services.bulk_export.deidentify import Pseudonyms, deidentify
from samhandling.services.bulk_export.elements import subset
from samhandling.store.database import Connection

#: (resource id, patient id of its compartment or None, resource) of the snapshot walk
Row = tuple[str, str | None, dict[str, Any]]


@dataclass(frozen=True)
class Shaping:
    """One type's `_elements`, the project's pseudonyms and the type's filters (OR-ed)."""

    elements: Sequence[str] | None = None
    pseudonyms: Pseudonyms | None = None
    filters: tuple[str, ...] = ()

    def matching(self, connection: Connection, resource_type: str, rows: list[Row]) -> list[Row]:
        """The rows that match one of the filters (all of them without filters)."""
        if not self.filters:
            return rows
        kept = matching_ids(connection, resource_type, list(self.filters), [r[0] for r in rows])
        return [row for row in rows if row[0] in kept]

    def shape(self, resource: dict[str, Any], patient_id: str | None) -> dict[str, Any]:
        """The resource as the export writes it."""
        shaped = subset(resource, self.elements)
        if self.pseudonyms is not None:
            shaped = deidentify(shaped, patient_id, self.pseudonyms)
        return shaped


def withheld_from_systems(resource: dict[str, Any]) -> bool:
    """The policy's rule for systems: blocked or very restricted entries are withheld."""
    labels = labels_of(resource)
    return labels.blocked_for_personnel or labels.very_restricted
