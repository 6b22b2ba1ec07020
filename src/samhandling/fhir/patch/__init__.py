"""The FHIR `patch` interaction (R4 §3.1.0.7): JSON Patch and FHIRPath Patch.

The entry points are re-exported here from `interaction`; the engines are `json_patch`
(RFC 6902) and `fhirpath` (FHIRPath Patch, with `fhirpath_elements` and `fhirpath_targets`).
"""

from samhandling.fhir.patch.interaction import (
    MAX_PATCHED_BYTES,
    Repeats,
    apply_fhirpath_patch,
    apply_json_patch,
    read_fhirpath_patch,
    repeats_from_definitions,
)

__all__ = [
    "MAX_PATCHED_BYTES",
    "Repeats",
    "apply_fhirpath_patch",
    "apply_json_patch",
    "read_fhirpath_patch",
    "repeats_from_definitions",
]
