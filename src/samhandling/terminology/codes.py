"""Looking up and checking codes of the bundled code systems.

Membership rules (docs/TERMINOLOGY.md):

- ATC, SNOMED CT and NLK are bundled as fragments and have structure rules: a code in the
  bundle is valid with its display; a well-formed code outside it is valid too, checked
  for structure only (no display known, a given display cannot be checked); a malformed
  code is refused.
- Every other bundled system (the Volven lists, purpose of use, ...) requires membership:
  a code that is not bundled is refused, even where the system is a fragment.
- A system that is not bundled is refused.
- A display is compared with the concept's display and designations (the Norwegian ATC
  names among them), ignoring case, surrounding whitespace and the length of inner
  whitespace runs; a wrong display leaves the code valid with a `warning`.
"""

from __future__ import annotations

import copy
from typing import Any

from samhandling.terminology.content import CodeSystemEntry, code_systems
from samhandling.terminology.model import CodeCheck, Concept


def lookup(system: str, code: str) -> Concept | None:
    """The bundled concept `code` of `system`, or None when it is not bundled."""
    entry = code_systems().get(system)
    return entry.concepts.get(code) if entry is not None else None


def code_system(url: str) -> dict[str, Any] | None:
    """A copy of the bundled CodeSystem resource with this url, or None."""
    entry = code_systems().get(url)
    return copy.deepcopy(entry.resource) if entry is not None else None


def known_system(system: str) -> CodeSystemEntry | None:
    """The bundled code system with this url, or None."""
    return code_systems().get(system)


def validate_code(system: str, code: str, display: str | None = None) -> CodeCheck:
    """Whether `code` (and `display`, when given) is valid in `system` (see the module doc)."""
    entry = code_systems().get(system)
    if entry is None:
        return CodeCheck(False, f"The code system {system!r} is not known to this server")
    concept = entry.concepts.get(code)
    if concept is not None:
        return check_display(entry.label, concept, display)
    if entry.structure is None:
        return CodeCheck(False, f"{entry.label} has no code {code!r}")
    problem = entry.structure(code)
    if problem is not None:
        return CodeCheck(False, problem)
    note = f"{entry.label} code {code!r} is not in the bundled subset: checked for structure only"
    if display is not None:
        note += "; the display was not checked"
    return CodeCheck(True, note, None)


def check_display(label: str, concept: Concept, display: str | None) -> CodeCheck:
    """A valid check of a known concept, with a warning when `display` is none of its texts."""
    texts = concept.texts()
    if display is None or not texts or display_matches(texts, display):
        return CodeCheck(True, None, concept.display)
    distinct = {_folded(text): text for text in reversed(texts)}  # the first spelling wins
    expected = " or ".join(repr(text) for text in reversed(distinct.values()))
    message = f"Wrong display {display!r} for {label} code {concept.code!r}: expected {expected}"
    return CodeCheck(True, None, concept.display, warning=message)


def display_matches(texts: list[str], display: str) -> bool:
    """Whether `display` equals one of `texts`, ignoring case and surrounding whitespace
    (and how long a run of inner whitespace is: 7497 code 13 has a no-break space)."""
    wanted = _folded(display)
    return any(_folded(text) == wanted for text in texts)


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()
