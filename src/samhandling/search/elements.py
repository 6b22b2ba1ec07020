"""``_summary`` and ``_elements`` (R4 §3.1.1.6.9–10): returning parts of resources.

A shortened resource is marked with the ``SUBSETTED`` tag in ``meta.tag``, as R4 requires.
``_summary=data`` drops only ``text``; ``_summary=text`` keeps ``text``, ``id``, ``meta`` and
the mandatory top-level elements; ``_summary=true`` the elements the definitions mark as
summary. ``_elements`` keeps the named top-level elements plus the mandatory ones.
"""

from __future__ import annotations

from typing import Any

from samhandling.search.mandatory_elements import mandatory_elements
from samhandling.search.summary_elements import summary_elements

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
ALWAYS = ("resourceType", "id", "meta", "implicitRules")


def shape(
    resource: dict[str, Any], summary: str | None, elements: tuple[str, ...]
) -> dict[str, Any]:
    """``resource`` as the summary mode or element list asks; unchanged when neither does."""
    rtype = resource.get("resourceType", "")
    if summary == "data":
        kept = [key for key in resource if key != "text"]
    elif summary == "text":
        kept = _select(resource, ("text", *mandatory_elements().get(rtype, ())))
    elif summary == "true":
        kept = _select(resource, summary_elements().get(rtype, ()))
    elif elements and summary in (None, "false"):
        names = tuple(e.split(".", 1)[1] if e.startswith(rtype + ".") else e for e in elements)
        kept = _select(resource, (*names, *mandatory_elements().get(rtype, ())))
    else:
        return resource
    if len(kept) == len(resource):
        return resource
    shaped = {key: resource[key] for key in kept}
    meta = dict(shaped.get("meta") or {})
    meta["tag"] = [*(meta.get("tag") or []), SUBSETTED]
    shaped["meta"] = meta
    return shaped


def _select(resource: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    wanted = set(ALWAYS)
    prefixes = []
    for name in names:
        if name.endswith("[x]"):
            prefixes.append(name[:-3])
        else:
            wanted.add(name)
    return [key for key in resource if _kept(key.lstrip("_"), wanted, prefixes)]


def _kept(key: str, wanted: set[str], prefixes: list[str]) -> bool:
    if key in wanted:
        return True
    return any(key.startswith(p) and len(key) > len(p) and key[len(p)].isupper() for p in prefixes)
