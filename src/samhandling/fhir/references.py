"""References inside resources, for transaction processing (R4 §3.1.0.11.2).

    iter_reference_holders(resource)       every Reference with a string `reference`
    reference_holders(resource)            every Reference and Narrative, for one walk to serve
                                           several passes (a transaction's entry)
    rewrite_references(resource, mapping)  replace mapped Reference.reference values in place
    parse_conditional_reference(ref)       "Patient?identifier=x|y" → ("Patient", "identifier=x|y")
    parse_relative_reference(ref)          "Patient/1/_history/2" → ("Patient", "1", "2")

How a Reference is recognised. The resource is walked with element types from fhirpathpy's
R4 model (`r4_model.py`: paths → types, choice types, contentReference paths), so a dict is
a Reference when its element has type Reference: `Patient.generalPractitioner`,
`Extension.valueReference`, `Parameters.parameter.valueReference`, `Identifier.assigner`,
... in the resource itself,
its contained resources, Bundle entries and nested backbone elements and extensions.

The common shortcut "any dict with a string `reference` and no `resourceType`" is wrong for
R4 core: `Expression.reference` and `Immunization.education.reference` are uri strings in
elements that are not References (`DetectedIssue.reference` too, on a resource, and
`Claim.related.reference` / `ExplanationOfBenefit.related.reference` are Identifiers).
That shortcut is only the fallback where the model does not know the element (a resource
type or element that is not R4 core, or content below one), and there it is narrowed to
dicts whose keys are all Reference elements (id, extension, reference, type, identifier,
display and their `_` primitive extensions).

Only `Reference.reference` and narrative links are rewritten: canonical and uri elements
(Attachment.url, ...) are not.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from samhandling.fhir.r4_model import CHOICES, PATH2TYPE, is_a, model_path

__all__ = [
    "iter_reference_holders",
    "parse_conditional_reference",
    "parse_relative_reference",
    "reference_holders",
    "rewrite_attachment_urls",
    "rewrite_references",
]

_REFERENCE_KEYS = frozenset(
    {"id", "extension", "reference", "type", "identifier", "display"}
    | {"_reference", "_type", "_display"}
)
_NARRATIVE_KEYS = frozenset({"id", "extension", "status", "div", "_status"})

_TYPE = r"[A-Z][A-Za-z]*"
_ID = r"[A-Za-z0-9\-.]{1,64}"
_CONDITIONAL = re.compile(rf"({_TYPE})\?(.+)", re.DOTALL)
_RELATIVE = re.compile(rf"({_TYPE})/({_ID})(?:/_history/({_ID}))?")
_LINK = re.compile(r"""(\s(?:href|src)\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def iter_reference_holders(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every Reference dict with a string `reference`, at any depth, in document order."""
    for kind, holder in reference_holders(resource):
        if kind == "reference":
            yield holder


def reference_holders(resource: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """("reference" | "narrative", dict) for every Reference with a string `reference` and
    every Narrative of `resource`, in document order."""
    found: list[tuple[str, dict[str, Any]]] = []
    _collect(resource, None, found)
    return found


def rewrite_references(
    resource: dict[str, Any],
    mapping: Mapping[str, str],
    holders: list[tuple[str, dict[str, Any]]] | None = None,
) -> int:
    """Replace, in place, each Reference.reference that is a key of `mapping` by its value,
    and each narrative `href`/`src` attribute whose whole value is such a key (R4
    §3.1.0.11.2: "references in the narrative are also rewritten"); in `text.div` of the
    resource and of every resource inside it, and in Composition.section.text.

    `holders`: the resource's `reference_holders`, when the caller has walked it already.
    Returns the number of values rewritten (references plus narrative attributes).
    """
    if not mapping:  # nothing can be rewritten: spare the walk (most batch entries)
        return 0
    count = 0
    for kind, holder in reference_holders(resource) if holders is None else holders:
        if kind == "reference":
            target = mapping.get(holder["reference"])
            if target is not None:
                holder["reference"] = target
                count += 1
        else:
            holder["div"], rewritten = _rewrite_links(holder["div"], mapping)
            count += rewritten
    return count


def rewrite_attachment_urls(resource: dict[str, Any], mapping: Mapping[str, str]) -> int:
    """Replace, in place, each `DocumentReference.content.attachment.url` that is a key of
    `mapping` (the `urn:uuid:` of a Binary or document Bundle in the same transaction) by
    its value. IHE MHD ITI-65 (3.65.4.1.3.1): the Document Recipient resolves the
    attachment's URL to the stored content. Returns the number rewritten."""
    if resource.get("resourceType") != "DocumentReference":
        return 0
    count = 0
    for content in resource.get("content") or []:
        attachment = content.get("attachment") if isinstance(content, dict) else None
        if not isinstance(attachment, dict):
            continue
        url = attachment.get("url")
        if isinstance(url, str) and url in mapping:
            attachment["url"] = mapping[url]
            count += 1
    return count


def parse_conditional_reference(ref: str) -> tuple[str, str] | None:
    """("Patient", "identifier=x|y") for "Patient?identifier=x|y"; None unless `ref` is a
    resource type name (capitalised letters only) followed by `?` and a non-empty query."""
    match = _CONDITIONAL.fullmatch(ref)
    return (match[1], match[2]) if match else None


def parse_relative_reference(ref: str) -> tuple[str, str, str | None] | None:
    """(type, id, version or None) for "Patient/1" or "Patient/1/_history/2"; None for
    anything else (absolute URLs, urn:uuid:, #fragments, conditional references, bad ids)."""
    match = _RELATIVE.fullmatch(ref)
    return (match[1], match[2], match[3]) if match else None


# ----------------------------------------------------------------------------- the walk


def _collect(value: Any, kind: str | None, found: list[tuple[str, dict[str, Any]]]) -> None:
    """Append ("reference" | "narrative", dict) for each Reference and Narrative below
    `value` to `found`; `kind` is the element's type (or backbone element path), None when
    unknown."""
    # appends to one list: a chain of nested generators (`yield from` at every level)
    # cost a transaction Bundle's walk about twice as much; a list's scalars and a dict's
    # scalar children are passed over without a call (most of a resource's leaves)
    if isinstance(value, list):
        for item in value:
            if isinstance(item, _CONTAINERS):
                _collect(item, kind, found)
        return
    if not isinstance(value, dict):
        return
    resource_type = value.get("resourceType")
    if isinstance(resource_type, str):
        kind = resource_type if is_a(resource_type, "Resource") else None
    elif _is_reference(value, kind):
        found.append(("reference", value))
    elif _is_narrative(value, kind):
        found.append(("narrative", value))
    for key, child in value.items():
        if isinstance(child, _CONTAINERS):
            _collect(child, None if kind is None else _known_child_type(kind, key), found)


_CONTAINERS = (dict, list)


def _is_reference(value: dict[str, Any], kind: str | None) -> bool:
    if not isinstance(value.get("reference"), str):
        return False
    return kind == "Reference" if kind is not None else value.keys() <= _REFERENCE_KEYS


def _is_narrative(value: dict[str, Any], kind: str | None) -> bool:
    if not isinstance(value.get("div"), str):
        return False
    if kind is not None:
        return kind == "Narrative"
    return "status" in value and value.keys() <= _NARRATIVE_KEYS


@lru_cache(maxsize=8192)  # a few hundred (type, element) pairs in practice
def _known_child_type(kind: str, key: str) -> str | None:
    """The type of element `key` of an element of type `kind`; None if unknown."""
    if key.startswith("_"):
        return "Element"  # a primitive's id and extensions
    if key in ("extension", "modifierExtension"):
        return "Extension"
    path = model_path(kind, key)
    if path is not None:
        return PATH2TYPE.get(path, path)  # a backbone element is typed by its path
    for cut in range(len(key) - 1, 0, -1):  # a choice element: valueReference, ...
        if key[cut].isupper():
            base = model_path(kind, key[:cut])
            if base is not None and key[cut:] in CHOICES.get(base, ()):
                return key[cut:]
    return None


def _rewrite_links(div: str, mapping: Mapping[str, str]) -> tuple[str, int]:
    """`div` with each href/src attribute whose (unescaped) value is mapped rewritten."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        quoted = match[2] if match[2] is not None else match[3]
        target = mapping.get(html.unescape(quoted))
        if target is None:
            return match[0]
        count += 1
        quote = '"' if match[2] is not None else "'"
        return f"{match[1]}{quote}{html.escape(target, quote=True)}{quote}"

    return _LINK.sub(replace, div), count
