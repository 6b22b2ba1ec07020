"""The demo population carries critical information for a few percent of the citizens."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import Engine

from fixtures.fhir_app import make_client
from samhandling.demo import load_bundles, population_bundles
from samhandling.profiles import profile_issues
from samhandling.services import default_platform
from samhandling.services.critical_information import kind_of

HOOKS = default_platform().demo_hooks
RULES = default_platform().write_rules

BASE = "http://testserver/fhir"


def _entries(bundles: list[dict]) -> list[dict]:
    resources = [e["resource"] for b in bundles for e in b["entry"]]
    return [r for r in resources if kind_of(r) is not None]


def test_a_few_percent_have_critical_information_of_every_kind() -> None:
    bundles = population_bundles(3000, 11, hooks=HOOKS)
    entries = _entries(bundles)
    people = {(e.get("patient") or e.get("subject"))["reference"] for e in entries}
    assert 0.015 < len(people) / 3005 < 0.08
    kinds = Counter(kind_of(e).key for e in entries)
    assert set(kinds) == {
        "allergy",
        "critical-condition",
        "ongoing-treatment",
        "implant",
        "procedural-change",
    }
    assert kinds["allergy"] == max(kinds.values())  # drug reactions dominate
    assert all(profile_issues(e) == [] for e in entries)
    assert not any(p.startswith("Patient/persona-") for p in people)
    assert _entries(population_bundles(3000, 11, hooks=HOOKS)) == entries  # deterministic


def test_demo_entries_load_and_answer_the_summary(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    bundles = population_bundles(300, 5, hooks=HOOKS)
    load_bundles(engine, bundles, BASE, rules=RULES)
    load_bundles(engine, bundles, BASE, rules=RULES)  # reloading is harmless
    entry = _entries(bundles)[0]
    patient = (entry.get("patient") or entry.get("subject"))["reference"]
    with make_client(database_url, tmp_path, persona="gp") as gp:
        summary = gp.get(f"/fhir/{patient}/$critical-information")
        assert summary.status_code == 200, summary.text
        assert entry["id"] in summary.text
