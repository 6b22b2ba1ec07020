"""Structure rules for codes of systems too large to bundle: SNOMED CT ids, ATC and NLK codes.

A code that passes these rules is well-formed; it may still not exist. The rules catch
typing errors (a wrong or transposed digit in a SNOMED CT id, a malformed ATC code) and
codes of the wrong kind (a SNOMED CT description or relationship id used as a concept).
"""

from __future__ import annotations

import re

from stdnum import verhoeff

#: SNOMED CT partition identifiers (2nd and 3rd digit from the right) of concept ids: 00 in
#: the International Release, 10 in an extension (with a namespace). Others name non-concepts.
CONCEPT_PARTITIONS = frozenset({"00", "10"})
OTHER_PARTITIONS = {
    "01": "a description id",
    "11": "a description id",
    "02": "a relationship id",
    "12": "a relationship id",
}
SCTID = re.compile(r"[1-9][0-9]{5,17}")

#: The 14 anatomical main groups (level 1) of the ATC classification.
ATC_MAIN_GROUPS = frozenset("ABCDGHJLMNPRSV")
_GROUPS = " ".join(sorted(ATC_MAIN_GROUPS))
ATC_LEVELS = (
    re.compile(r"[A-Z]"),
    re.compile(r"[A-Z][0-9]{2}"),
    re.compile(r"[A-Z][0-9]{2}[A-Z]"),
    re.compile(r"[A-Z][0-9]{2}[A-Z]{2}"),
    re.compile(r"[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}"),
)


def verhoeff_valid(digits: str) -> bool:
    """Whether a string of digits ends in a correct Verhoeff check digit."""
    return digits.isascii() and digits.isdigit() and verhoeff.is_valid(digits)


def snomed_problem(code: str) -> str | None:
    """Why `code` is not a well-formed SNOMED CT concept id, or None when it is."""
    label = f"SNOMED CT {code!r}" if not code.isdigit() else f"SNOMED CT {code}"
    if not SCTID.fullmatch(code):
        return (
            f"{label} is not a SNOMED CT id (6 to 18 digits, no leading zero)"
            if code
            else "SNOMED CT code is empty"
        )
    if not verhoeff_valid(code):
        return f"{label} fails its Verhoeff check digit"
    partition = code[-3:-1]
    if partition not in CONCEPT_PARTITIONS:
        kind = OTHER_PARTITIONS.get(partition, "not a concept id")
        return f"{label} has partition identifier {partition}: it is {kind}, not a concept id"
    return None


def atc_level(code: str) -> int | None:
    """The ATC level (1 to 5) of a well-formed code, or None."""
    for level, pattern in enumerate(ATC_LEVELS, start=1):
        if pattern.fullmatch(code):
            return level if code[0] in ATC_MAIN_GROUPS else None
    return None


def atc_problem(code: str) -> str | None:
    """Why `code` is not a well-formed ATC code, or None when it is."""
    if atc_level(code) is not None:
        return None
    if code[:1].isascii() and code[:1].isupper() and code[0] not in ATC_MAIN_GROUPS:
        why = f"'{code[0]}' is not one of the 14 anatomical main groups ({_GROUPS})"
    else:
        why = "levels are a main group letter, then 2 digits, a letter, a letter and 2 digits"
    return f"ATC code {code!r} is not a valid ATC code: {why}"


def atc_parent(code: str) -> str | None:
    """The code one level up in the ATC hierarchy (None for a main group or a bad code)."""
    level = atc_level(code)
    if level is None or level == 1:
        return None
    return code[: (1, 3, 4, 5)[level - 2]]


#: Norsk laboratoriekodeverk (7280): NPU codes (IFCC/IUPAC) and national NOR codes.
NLK_CODE = re.compile(r"(NPU|NOR)[0-9]{5}")


def nlk_problem(code: str) -> str | None:
    """Why `code` is not a well-formed NLK code (NPU or NOR and five digits), or None."""
    if NLK_CODE.fullmatch(code):
        return None
    return f"NLK code {code!r} is not an NLK code: NPU or NOR followed by five digits"
