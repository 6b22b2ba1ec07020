"""Classic criteria matched on a resource with search's token and reference semantics."""

from __future__ import annotations

from typing import Any

import pytest

from samhandling.services.notifications.criteria import matches, parse_criteria

LOINC = "http://loinc.org"
OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": LOINC, "code": "718-7"}, {"code": "local-hb"}]},
    "subject": {"reference": "Patient/p1"},
}


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("Observation", True),
        ("Observation?code=718-7", True),
        (f"Observation?code={LOINC}|718-7", True),
        (f"Observation?code={LOINC}|", True),
        ("Observation?code=|local-hb", True),
        ("Observation?code=|718-7", False),  # has a system
        (f"Observation?code={LOINC}|1988-5", False),
        (f"Observation?code={LOINC}|1988-5,{LOINC}|718-7", True),  # any of
        ("Observation?patient=p1&status=final", True),
        ("Observation?patient=Patient/p1&status=amended", False),  # all of
        ("Observation?subject=Patient/p2", False),
    ],
)
def test_classic_criteria_match_like_search(criteria: str, expected: bool) -> None:
    _, parameters = parse_criteria(criteria)
    assert matches(parameters, OBSERVATION) is expected
