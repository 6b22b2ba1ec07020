"""Whether an element path repeats, from the same generated R4 model the validator uses."""

from __future__ import annotations

import functools

from samhandling.fhir.validation.model import load_model


@functools.lru_cache(maxsize=4096)
def element_repeats(path: str) -> bool | None:
    """True/False for an element path such as `Patient.contact.telecom`; None if unknown."""
    model = load_model()
    first, *rest = path.split(".")
    struct = model.structs.get(first)
    element = None
    for name in rest:
        if struct is None:
            return None
        element = struct.elements.get(name)
        if element is None:
            return None
        struct = element.struct
    return None if element is None else element.many
