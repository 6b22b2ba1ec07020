"""The public API for validating and classifying Norwegian identifiers, in one import.

Person numbers live in ``person_numbers`` (classification) and
``person_number_generation``; organisation, HPR, RESH and HER-id numbers in
``register_numbers``; FHIR identifier systems in ``identifier_systems``.
"""

from __future__ import annotations

from samhandling.identifiers.common import InvalidIdentifier
from samhandling.identifiers.identifier_systems import (
    DNR_SYSTEM,
    DUF_SYSTEM,
    FHN_SYSTEM,
    FNR_SYSTEM,
    H_NUMBER_TYPE_SYSTEM,
    HER_ID_SYSTEM,
    HPR_SYSTEM,
    ORGANISATION_NUMBER_SYSTEM,
    RESH_SYSTEM,
    SYSTEM_ALIASES,
    check_identifier,
    normalise_system,
)
from samhandling.identifiers.person_number_generation import (
    generate_fh_number,
    generate_synthetic_fnr,
)
from samhandling.identifiers.person_numbers import (
    PersonNumber,
    PersonNumberKind,
    Sex,
    classify_person_number,
    is_valid_person_number,
)
from samhandling.identifiers.register_numbers import (
    is_valid_hpr_number,
    is_valid_organisation_number,
    validate_her_id,
    validate_hpr_number,
    validate_organisation_number,
    validate_resh_id,
)

__all__ = [
    "DNR_SYSTEM",
    "DUF_SYSTEM",
    "FHN_SYSTEM",
    "FNR_SYSTEM",
    "HER_ID_SYSTEM",
    "HPR_SYSTEM",
    "H_NUMBER_TYPE_SYSTEM",
    "ORGANISATION_NUMBER_SYSTEM",
    "RESH_SYSTEM",
    "SYSTEM_ALIASES",
    "InvalidIdentifier",
    "PersonNumber",
    "PersonNumberKind",
    "Sex",
    "check_identifier",
    "classify_person_number",
    "generate_fh_number",
    "generate_synthetic_fnr",
    "is_valid_hpr_number",
    "is_valid_organisation_number",
    "is_valid_person_number",
    "normalise_system",
    "validate_her_id",
    "validate_hpr_number",
    "validate_organisation_number",
    "validate_resh_id",
]
