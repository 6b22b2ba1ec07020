"""The release delays as data: how long the citizen waits for a result, per kind of analysis.

The table lives in `release_delays.json` beside this module (docs/LAB_RESULTS.md lists it);
a deployment changes the days there, or builds the service with a table of its own
(`lab_results.service(load_release_delays(path))`). A resource is a **lab result** when one
of its categories, or the code system of its code, is a row of the table: so results are
recognised by their content, whoever wrote them (the national NILAR shape, Synthea's
`laboratory` Observations). Its delay is the longest of the rows it matches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

#: the resource types whose content makes them lab results
RESULT_TYPES = frozenset({"DiagnosticReport", "Observation"})


@dataclass(frozen=True)
class ReleaseDelays:
    """Days until release, by category (system, code) and by code system of the code."""

    categories: Mapping[tuple[str, str], int]
    code_systems: Mapping[str, int]

    def delay_of(self, resource: dict[str, Any] | None) -> timedelta | None:
        """The delay of a lab result, or None when `resource` is not one."""
        if not resource or resource.get("resourceType") not in RESULT_TYPES:
            return None
        days = [self.categories[c] for c in _category_codings(resource) if c in self.categories]
        days += [self.code_systems[s] for s in _code_systems(resource) if s in self.code_systems]
        return timedelta(days=max(days)) if days else None

    def is_lab_result(self, resource: dict[str, Any] | None) -> bool:
        """Whether `resource` is a lab result by its content."""
        return self.delay_of(resource) is not None


def _codings(concept: Any) -> Iterator[dict[str, Any]]:
    if isinstance(concept, dict):
        yield from (c for c in concept.get("coding") or [] if isinstance(c, dict))


def _category_codings(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    categories = resource.get("category") or []
    for concept in categories if isinstance(categories, list) else [categories]:
        for coding in _codings(concept):
            yield str(coding.get("system", "")), str(coding.get("code", ""))


def _code_systems(resource: dict[str, Any]) -> Iterator[str]:
    for coding in _codings(resource.get("code")):
        yield str(coding.get("system", ""))


def release_delays_from(table: dict[str, Any]) -> ReleaseDelays:
    """The delays of a table shaped like `release_delays.json`; ValueError if malformed."""
    try:
        categories = {(str(r["system"]), str(r["code"])): _days(r) for r in table["categories"]}
        systems = {str(r["system"]): _days(r) for r in table.get("code_systems", [])}
    except (KeyError, TypeError) as exc:
        raise ValueError(f"release delay table is malformed: {exc!r}") from exc
    return ReleaseDelays(categories, systems)


def _days(row: dict[str, Any]) -> int:
    days = row["days"]
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(f"days must be a whole number of days >= 0, not {days!r}")
    return days


def load_release_delays(path: Path | None = None) -> ReleaseDelays:
    """The table in `path`, or the shipped `release_delays.json`."""
    if path is None:
        text = resources.files(__package__).joinpath("release_delays.json").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return release_delays_from(json.loads(text))
