"""The FHIR R4 type model: fhirpathpy's bundled R4 model, looked up in one place.

The tables (``path2Type``, ``choiceTypePaths``, ``pathsDefinedElsewhere``, ``type2Parent``)
are those fhirpathpy's FHIRPath engine evaluates with (``MODEL``); index extraction
(``indexing/types.py``), reference walking (``references.py``) and FHIRPath Patch
(``patch/fhirpath_elements.py``) read element types from them.

A *type* is a FHIR type name (``Quantity``, ``dateTime``, ``Observation``) or, for a
backbone element, its element path (``Observation.component``).
"""

from __future__ import annotations

from typing import Any

from fhirpathpy.models import models

MODEL: dict[str, Any] = models["r4"]
"""The model as fhirpathpy's ``compile`` and ``apply_parsed_path`` take it."""
PATH2TYPE: dict[str, str] = MODEL["path2Type"]
CHOICES: dict[str, list[str]] = MODEL["choiceTypePaths"]
ELSEWHERE: dict[str, str] = MODEL["pathsDefinedElsewhere"]
PARENTS: dict[str, str] = MODEL["type2Parent"]
ELEMENT_OWNERS = frozenset(path.rsplit(".", 1)[0] for path in PATH2TYPE if "." in path)
"""Every type and backbone element path the model lists elements of."""
PRIMITIVE_TYPES = frozenset(
    {
        *("base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id"),
        *("instant", "integer", "markdown", "oid", "positiveInt", "string", "time"),
        *("unsignedInt", "uri", "url", "uuid", "xhtml"),
    }
)


def model_path(owner_type: str | None, name: str) -> str | None:
    """The model path of element `name` of `owner_type`, following base types."""
    current = owner_type
    while current:
        path = f"{current}.{name}"
        path = ELSEWHERE.get(path, path)
        if path in PATH2TYPE or path in CHOICES or path in ELEMENT_OWNERS:
            return path
        current = PARENTS.get(current) if "." not in current else None
    return None


def is_a(kind: str | None, base: str) -> bool:
    """True when type `kind` is `base` or derives from it (Age is a Quantity)."""
    while kind:
        if kind == base:
            return True
        kind = PARENTS.get(kind)
    return False
