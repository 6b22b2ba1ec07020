"""Terminology: the code systems and value sets the platform ships, and checks of codes.

Bundled (package data, see docs/TERMINOLOGY.md): the Norwegian Volven code systems and a
few others from `shared/data/no-codes`, a subset of ATC, a subset of SNOMED CT harvested
from real test data, and the critical-information value sets
(`https://samhandling.no/fhir/ValueSet/kj-*`).

    lookup(system, code) -> Concept | None
    validate_code(system, code, display=None) -> CodeCheck
    validate_in_value_set(url, system, code, display=None) -> CodeCheck
    code_system(url) / value_set(url) -> a copy of the bundled resource, or None

Content is loaded on first use and cached; a look-up is then a dictionary access. The FHIR
operations (`$lookup`, `$validate-code`, `$expand`) are in `services.terminology.operations`.
"""

from __future__ import annotations

from samhandling.terminology.codes import code_system, lookup, validate_code
from samhandling.terminology.content import (
    ATC_SYSTEM,
    SNOMED_SYSTEM,
    VALUE_SET_BASE,
    VOLVEN_PREFIX,
    volven_system,
)
from samhandling.terminology.model import CodeCheck, Concept, Designation, Property
from samhandling.terminology.value_sets import (
    Expansion,
    ValueSetError,
    expand,
    validate_in_value_set,
    value_set,
)

__all__ = [
    "ATC_SYSTEM",
    "SNOMED_SYSTEM",
    "VALUE_SET_BASE",
    "VOLVEN_PREFIX",
    "CodeCheck",
    "Concept",
    "Designation",
    "Expansion",
    "Property",
    "ValueSetError",
    "code_system",
    "expand",
    "lookup",
    "validate_code",
    "validate_in_value_set",
    "value_set",
    "volven_system",
]
