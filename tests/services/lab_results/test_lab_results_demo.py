"""The demo population's lab histories: deterministic, and valid under the service's rules."""

from __future__ import annotations

import datetime as dt

from samhandling.demo.people import PeopleBuilder, generate_households
from samhandling.demo.register_build import build_register
from samhandling.services.lab_results.demo import lab_histories
from samhandling.services.lab_results.release_delays import load_release_delays
from samhandling.services.lab_results.write_rules import is_national
from samhandling.terminology.codes import validate_code
from samhandling.terminology.content import NLK_SYSTEM

ANCHOR = dt.date(2026, 1, 1)


def _histories(seed: int) -> list[list[dict]]:
    register = build_register()
    builder = PeopleBuilder(f"test:{seed}", f"demo-{seed}-", register, ANCHOR)
    people = [p for household in generate_households(builder, 60) for p in household]
    return [lab_histories(person, register, seed, ANCHOR) for person in people]


def test_lab_histories_are_deterministic_per_seed() -> None:
    first = _histories(3)
    assert first == _histories(3)
    assert 5 <= sum(1 for h in first if h) <= 40  # about a third of the adults


def test_every_demo_result_is_a_national_shape_lab_result_released_long_ago() -> None:
    delays = load_release_delays()
    resources = [r for history in _histories(4) for r in history]
    assert {r["resourceType"] for r in resources} == {"DiagnosticReport", "Observation"}
    for resource in resources:
        assert is_national(resource) and delays.delay_of(resource) is not None
        assert resource["issued"] < ANCHOR.isoformat()
        assert resource["performer"][0]["identifier"]["value"]


def test_demo_results_carry_bundled_nlk_codes_with_their_usage_names() -> None:
    results = [r for h in _histories(5) for r in h if r["resourceType"] == "Observation"]
    assert results
    for result in results:
        nlk, loinc = result["code"]["coding"]
        checked = validate_code(NLK_SYSTEM, nlk["code"], nlk["display"])
        assert checked.valid and checked.warning is None and checked.display == nlk["display"]
        assert loinc["system"] == "http://loinc.org"
