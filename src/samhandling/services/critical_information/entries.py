"""Reading a patient's critical information in one indexed query.

The summary and the indicator are what every EPJ asks when a record is opened, so they do
not run five searches: one query takes the patient's compartment rows of the five types
(primary-key range), keeps those whose `_profile` index row names a Kj profile, and reads
their current content. The caller's guard then judges every entry as a search would
(`visible`: scopes with their filters, security labels, entries entered in error for
citizens), and records what was shown for the audit trail.
"""

from __future__ import annotations

from typing import Any

from samhandling.services.critical_information.kinds import Kind
from samhandling.store.compartment_queries import current_entries_with_profiles
from samhandling.store.database import Connection


def stored_entries(
    connection: Connection, patient_id: str, kinds: list[Kind]
) -> list[dict[str, Any]]:
    """The current critical-information entries of one patient of these kinds, by id."""
    return current_entries_with_profiles(
        connection,
        patient_id,
        sorted({kind.resource_type for kind in kinds}),
        [kind.profile for kind in kinds],
    )
