"""Pasientens legemiddelliste (PLL): one trusted medication list per patient
(docs/MEDICATION_LIST.md).

The list is one `List` per patient whose entries reference versions of
`MedicationStatement`s with stable UUIDs (`listing`, `kinds`); it is read as a document
Bundle with the prescriptions not on it and the drug reactions from critical information
(`document`), and written only whole, through the guard (`update`, `guard`): based on the
current version and accounting for every entry. Pause, resume and reconciliation are
`pause`; the write rule and the access rules (paused lists, pharmacists) are `rules`;
e-prescriptions and dispensing `dispensing`; the demo population's lists are `demo`.
The whole service is the `SERVICE` description below.
"""

from __future__ import annotations

from samhandling.services.medication_list import demo, operations
from samhandling.services.medication_list.dispensing import (
    DispensingRules,
    PharmaciesDispense,
    PrescriptionRules,
)
from samhandling.services.medication_list.rules import ListWrites, PausedList, PharmacistsReadOnly
from samhandling.services.service import Service
from samhandling.services.subscription_topic import Topic

__all__ = ["SERVICE"]

SERVICE = Service(
    name="medication-list",
    operations=tuple(operations.OPERATIONS),
    write_rules=(ListWrites(), PrescriptionRules(), DispensingRules()),
    access_rules=(PausedList(), PharmacistsReadOnly(), PharmaciesDispense()),
    demo=demo.medication_lists,
    benchmark="medication-list",
    topics=(
        Topic(
            "medication-list",
            "Medication list changed",
            "An entry of a patient's medication list was added, changed or withdrawn.",
            ("MedicationStatement",),
            ("create", "update", "delete"),
        ),
    ),
)
