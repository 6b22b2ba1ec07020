"""The identity service: national auxiliary numbers, merging identities, patient matching,
the registers of health personnel and organisations (see docs/IDENTITY.md) and the
register of powers of attorney (docs/WEB_VIEWS.md)."""

from __future__ import annotations

from samhandling.services.identity import fh_allocation, match, merge
from samhandling.services.identity import power_of_attorney_operations as powers
from samhandling.services.identity.powers_of_attorney import confirm_powers_of_attorney
from samhandling.services.identity.registers import check_principal_registered
from samhandling.services.service import Service
from samhandling.services.subscription_topic import Topic

__all__ = ["SERVICE", "check_principal_registered", "confirm_powers_of_attorney"]

SERVICE = Service(
    name="identity",
    operations=(fh_allocation.OPERATION, merge.OPERATION, match.OPERATION, *powers.OPERATIONS),
    write_rules=(powers.PowersOfAttorneyKeptOnWrites(),),
    topics=(
        Topic(
            "identity-merge",
            "Patient records merged",
            "A Patient was merged into another (`Patient/$merge`): it links to the record "
            "that replaces it.",
            ("Patient",),
            ("update",),
            applies=lambda p: any(link.get("type") == "replaced-by" for link in p.get("link", [])),
        ),
    ),
)
