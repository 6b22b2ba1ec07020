"""Reading reference strings: relative ``Type/id[/_history/v]``, absolute URLs, canonicals.

This is also the meaning of ``resolve()`` in search-parameter expressions
(``subject.where(resolve() is Patient)``): the server never fetches a target to index a
resource; the target type is read from the reference string (or from ``Reference.type``
when the reference has none, e.g. an identifier-only reference).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from samhandling.fhir.indexing.types import RESOURCE_TYPES

__all__ = ["ParsedReference", "parse_canonical", "parse_reference", "reference_target_type"]

_ID = r"[A-Za-z0-9\-.]{1,64}"
_RELATIVE = re.compile(rf"([A-Z][A-Za-z]+)/({_ID})(?:/_history/({_ID}))?")
_ABSOLUTE_TAIL = re.compile(rf"/([A-Z][A-Za-z]+)/({_ID})(?:/_history/({_ID}))?$")


@dataclass(frozen=True, slots=True)
class ParsedReference:
    """A reference split into target type, id, version and absolute url (each optional)."""

    target_type: str | None
    target_id: str | None
    version: str | None
    url: str | None


@lru_cache(maxsize=16384)
def parse_reference(reference: str) -> ParsedReference | None:
    """Split a ``Reference.reference`` string; None for a local ``#id`` reference.

    * ``Patient/1``, ``Patient/1/_history/2`` -> type, id, version; no url;
    * ``https://host/fhir/Patient/1[/_history/2]`` -> type, id, version and the url without
      the ``/_history`` part, when the segment before the id is a known resource type;
    * anything else (``urn:uuid:…``, ``urn:oid:…``, conditional ``Patient?identifier=…``,
      other absolute URLs) -> only ``url``, the string as written.
    """
    if not reference or reference.startswith("#"):
        return None
    match = _RELATIVE.fullmatch(reference)
    if match and match[1] in RESOURCE_TYPES:
        return ParsedReference(match[1], match[2], match[3], None)
    if "://" in reference:
        tail = _ABSOLUTE_TAIL.search(reference)
        if tail and tail[1] in RESOURCE_TYPES:
            url = reference[: tail.start()] + f"/{tail[1]}/{tail[2]}"
            return ParsedReference(tail[1], tail[2], tail[3], url)
    return ParsedReference(None, None, None, reference)


@lru_cache(maxsize=16384)
def parse_canonical(canonical: str) -> ParsedReference | None:
    """Split a canonical ``url|version``; type and id when the url ends with ``Type/id``."""
    if not canonical or canonical.startswith("#"):
        return None
    url, _, version = canonical.partition("|")
    parsed = parse_reference(url)
    if parsed is None:
        return None
    if parsed.url is None:  # a relative canonical such as Questionnaire/1
        return ParsedReference(parsed.target_type, parsed.target_id, version or None, None)
    return ParsedReference(parsed.target_type, parsed.target_id, version or None, parsed.url)


def reference_target_type(reference: Any) -> str | None:
    """The resource type a Reference points to, as ``resolve()`` sees it; None if unknown."""
    if not isinstance(reference, dict):
        return None
    text = reference.get("reference")
    if isinstance(text, str):
        parsed = parse_reference(text)
        if parsed is not None and parsed.target_type is not None:
            return parsed.target_type
    declared = reference.get("type")
    if isinstance(declared, str) and declared in RESOURCE_TYPES:
        return declared
    return None
