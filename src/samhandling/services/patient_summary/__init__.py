"""Pasientsammendrag: the IPS patient summary (`$summary`), generated from the platform's
own services, signed, and `$everything` (docs/PATIENT_SUMMARY.md).

The sections are data (`sections`), filled through the caller's guard (`gather`) from
critical information, the medication list, conditions, lab results, immunizations and
devices; `document` builds the IPS document Bundle, `narrative` its section texts (nb/en),
`signing` the detached JWS and its published keys; `operations` the `$operations`.
"""

from __future__ import annotations

from samhandling.services.patient_summary import operations
from samhandling.services.service import DefinitionFolder, Service

__all__ = ["SERVICE"]

SERVICE = Service(
    name="patient-summary",
    operations=tuple(operations.OPERATIONS),
    # the IPS 1.1.0 profiles the summary claims (differentials; the validator reads them too)
    definitions=(DefinitionFolder("samhandling.profiles", "definitions/ips"),),
)
