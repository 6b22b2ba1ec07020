"""Pasientens kritiske informasjon: critical information registered from the clinician's own
system, one national source (docs/CRITICAL_INFORMATION.md).

Five kinds (allergies and drug reactions, critical conditions, ongoing treatment, implants,
other procedural changes), each a shipped profile; write rules (`entry_rules`), the grouped
summary and the cheap indicator (`summary`) and `$confirm` (`confirm`).
"""

from __future__ import annotations

from samhandling.interactions.operations import Operation
from samhandling.interactions.write_rules import WriteRule
from samhandling.services.critical_information import confirm, summary
from samhandling.services.critical_information.entry_rules import CriticalInformationRule
from samhandling.services.critical_information.kinds import KINDS, Kind, kind_of

__all__ = [
    "KINDS",
    "Kind",
    "critical_information_operations",
    "critical_information_rules",
    "kind_of",
]


def critical_information_operations() -> list[Operation]:
    """`Patient/$critical-information`, `…-indicator` and `{type}/{id}/$confirm`."""
    return [*summary.OPERATIONS, *confirm.OPERATIONS]


def critical_information_rules() -> list[WriteRule]:
    """The write rules of the five kinds."""
    return [CriticalInformationRule()]
