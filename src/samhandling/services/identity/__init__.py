"""The identity service: national auxiliary numbers, merging identities, patient matching,
and the registers of health personnel and organisations (see docs/IDENTITY.md)."""

from __future__ import annotations

from samhandling.interactions.operations import Operation
from samhandling.services.identity import fh_allocation, match, merge
from samhandling.services.identity.registers import check_principal_registered

__all__ = ["check_principal_registered", "identity_operations"]


def identity_operations() -> list[Operation]:
    """`Patient/$allocate-fh`, `Patient/$merge` and `Patient/$match`."""
    return [fh_allocation.OPERATION, merge.OPERATION, match.OPERATION]
