"""What the terminology module answers with: concepts and the outcome of a code check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Designation:
    """Another text for a concept (CodeSystem.concept.designation)."""

    value: str
    language: str | None = None
    use: dict[str, Any] | None = None  # a Coding

    def to_fhir(self) -> dict[str, Any]:
        """The designation as FHIR JSON."""
        result: dict[str, Any] = {}
        if self.language:
            result["language"] = self.language
        if self.use:
            result["use"] = dict(self.use)
        result["value"] = self.value
        return result


@dataclass(frozen=True)
class Property:
    """One property value of a concept: `code` (e.g. "parent"), the FHIR type of the value
    (the suffix of `value[x]`: "Code", "String", "Coding", ...) and the value itself."""

    code: str
    type: str
    value: Any


@dataclass(frozen=True)
class Concept:
    """A concept of a bundled code system."""

    system: str
    code: str
    display: str | None
    version: str | None = None
    definition: str | None = None
    designations: tuple[Designation, ...] = ()
    properties: tuple[Property, ...] = ()

    def property_values(self, code: str) -> list[Any]:
        """The values of one property (e.g. `parent`), in order."""
        return [p.value for p in self.properties if p.code == code]

    @property
    def parents(self) -> list[str]:
        """The codes of the concept's parents (the `parent` property)."""
        return [str(v) for v in self.property_values("parent")]

    def texts(self) -> list[str]:
        """The display and every designation: the texts a valid display may take."""
        texts = [self.display] if self.display else []
        return texts + [d.value for d in self.designations]


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of checking a code.

    `valid`: whether the code is acceptable. `message` explains a refusal in plain words, or
    notes a limit of the check (e.g. that a code was checked for structure only).
    `display`: the code's display where it is known. `warning`: a problem that leaves the
    code valid: a display that is none of the concept's texts (other FHIR validators warn
    of it too; R4 `$validate-code` returns it as the message of a true result).
    """

    valid: bool
    message: str | None = None
    display: str | None = None
    warning: str | None = None
