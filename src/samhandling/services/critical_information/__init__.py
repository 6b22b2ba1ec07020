"""Pasientens kritiske informasjon: critical information registered from the clinician's own
system, one national source (docs/CRITICAL_INFORMATION.md).

Five kinds (allergies and drug reactions, critical conditions, ongoing treatment, implants,
other procedural changes), each a shipped profile; who may write them (`writers`, an
access rule of the policy), the write rules (`entry_rules`), the grouped summary and the
cheap indicator (`summary`), `$confirm` (`confirm`) and the demo population's entries
(`demo`). The whole service is the `SERVICE` description below.
"""

from __future__ import annotations

from samhandling.services.critical_information import confirm, demo, summary
from samhandling.services.critical_information.entry_rules import CriticalInformationRule
from samhandling.services.critical_information.kinds import KINDS, Kind, kind_of
from samhandling.services.critical_information.writers import CriticalInformationWriters
from samhandling.services.service import DefinitionFolder, Service
from samhandling.services.subscription_topic import Topic

__all__ = ["KINDS", "SERVICE", "Kind", "kind_of"]

SERVICE = Service(
    name="critical-information",
    operations=(*summary.OPERATIONS, *confirm.OPERATIONS),
    write_rules=(CriticalInformationRule(),),
    access_rules=(CriticalInformationWriters(),),
    # the five Kj profiles and their extensions
    definitions=(DefinitionFolder("samhandling.profiles", "definitions"),),
    demo=demo.critical_information,
    benchmark="critical-information",
    topics=(
        Topic(
            "critical-information",
            "Critical information changed",
            "An entry of a patient's critical information was registered, changed or deleted.",
            tuple(sorted({kind.resource_type for kind in KINDS})),
            ("create", "update", "delete"),
            applies=lambda resource: kind_of(resource) is not None,
        ),
    ),
)
