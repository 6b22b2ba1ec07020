"""The services' write rules looked up by resource type (`write_rules.rules_for_type`).

A rule that names its `resource_types` is asked only about writes of those types. That is
safe only if its `applies` never accepts a write of another type: each rule of the
platform is shown a corpus of writes it does apply to (official R4, IPS and national
examples, and bodies carrying every mark a rule looks for), then the same writes relabelled
as every other R4 type; it must refuse all of those. A rule without `resource_types` (a
service outside the platform may have one) is still asked about every write.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from fixtures.shared_data import resources_in
from samhandling.fhir.validation import RESOURCE_TYPES
from samhandling.interactions.write_rules import (
    WriteContext,
    WriteRule,
    governing_rules,
    rule_types,
    rules_for_type,
)
from samhandling.services import default_platform
from samhandling.services.critical_information.kinds import KINDS
from samhandling.services.document_sharing.folders import FOLDER
from samhandling.services.document_sharing.metadata import MHD_LIST_TYPES, SUBMISSION_SET
from samhandling.services.identity.powers_of_attorney import ROLE_CODE
from samhandling.services.lab_results.labels import ACCESS_SYSTEM, BLOCKED
from samhandling.services.lab_results.write_rules import EXPERTISE_8202, NLK_SYSTEMS
from samhandling.services.medication_list.listing import ENTRY_PROFILE, LOINC, MEDICATION_LIST_CODE
from samhandling.store.version_writer import VersionWriter

NO_9603 = "urn:oid:2.16.578.1.12.4.1.1.9603"
INTENTS = (None, "confirm", "block-result", "unblock-result", "hide-from-clinicians")
RULES: tuple[WriteRule, ...] = default_platform().write_rules


def _marked(resource_type: str) -> dict[str, Any]:
    """A body of `resource_type` carrying every mark the platform's rules look for."""
    return {
        "resourceType": resource_type,
        "id": "marked",
        "meta": {
            "security": [{"system": ACCESS_SYSTEM, "code": BLOCKED}],
            "profile": [ENTRY_PROFILE, *(kind.profile for kind in KINDS)],
        },
        "code": {
            "coding": [
                {"system": MHD_LIST_TYPES, "code": FOLDER},
                {"system": MHD_LIST_TYPES, "code": SUBMISSION_SET},
                {"system": LOINC, "code": MEDICATION_LIST_CODE},
                *({"system": system, "code": "NPU01234"} for system in sorted(NLK_SYSTEMS)),
            ]
        },
        "category": [{"coding": [{"system": EXPERTISE_8202, "code": "1"}]}],
        "relationship": [{"coding": [{"system": ROLE_CODE, "code": "POWATT"}]}],
        "securityLabel": [{"coding": [{"system": NO_9603, "code": "NORS"}]}],
        "medicationCodeableConcept": {"text": "Paracet"},
        "data": "aGVsbG8=",
        "status": "current",
    }


_NATIONAL = "national-profiles/**/*.json"


@pytest.fixture(scope="module")
def corpus(shared_data: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for pattern in ("fhir-test-cases/r4/examples/*.json", "ips/**/*.json", _NATIONAL):
        for path in sorted(shared_data.glob(pattern)):
            try:
                found.extend(resources_in(json.loads(path.read_bytes())))
            except (ValueError, UnicodeDecodeError):
                continue
    declared = {t for rule in RULES for t in rule_types(rule) or ()}
    return found + [_marked(t) for t in sorted(declared)]


def _context(resource_type: str, before: Any, new: Any, intent: str | None) -> WriteContext:
    method = "create" if before is None else "delete" if new is None else "update"
    # `applies` decides from the write's type, content and intent only: no writer needed
    context = WriteContext(cast(VersionWriter, None), method, resource_type, "x", None, new)
    context.intent = intent
    context.__dict__["before"] = before  # the cached property, as the previous version's
    return context


def _writes(resource: dict[str, Any]) -> Iterator[WriteContext]:
    rtype = resource["resourceType"]
    for before, new in ((None, resource), (resource, resource), (resource, None)):
        for intent in INTENTS:
            yield _context(rtype, before, new, intent)


def _relabelled(context: WriteContext, resource_type: str) -> WriteContext:
    def as_type(body: Any) -> Any:
        return None if body is None else {**copy.deepcopy(body), "resourceType": resource_type}

    return _context(resource_type, as_type(context.before), as_type(context.new), context.intent)


def test_every_rule_of_the_platform_names_the_types_it_governs() -> None:
    assert len(RULES) >= 17
    for rule in RULES:
        types = rule_types(rule)
        assert types, f"{type(rule).__name__} names no resource types"
        assert types <= RESOURCE_TYPES, f"{type(rule).__name__}: {types - RESOURCE_TYPES}"


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: type(rule).__name__)
def test_a_rule_never_applies_to_a_type_it_does_not_name(
    rule: WriteRule, corpus: list[dict[str, Any]]
) -> None:
    types = rule_types(rule)
    assert types is not None
    applying = [c for r in corpus for c in _writes(r) if rule.applies(c)]
    assert applying, f"the corpus has no write {type(rule).__name__} applies to"
    assert {c.resource_type for c in applying} <= types
    others = sorted(RESOURCE_TYPES - types)
    for context in applying[:40]:
        for other in others:
            relabelled = _relabelled(context, other)
            assert not rule.applies(relabelled), (type(rule).__name__, other, context.method)


def test_the_rules_looked_up_by_type_are_those_asking_every_rule_finds(
    corpus: list[dict[str, Any]],
) -> None:
    writer = cast(VersionWriter, type("Writer", (), {"rules": RULES})())
    governed = 0
    for resource in corpus:
        for context in _writes(resource):
            context.writer = writer
            everyone = [rule for rule in RULES if rule.applies(context)]
            assert governing_rules(context) == everyone
            governed += bool(everyone)
    assert governed > 100


class _Unnamed:
    """A rule of a service outside the platform that names no types."""

    def applies(self, context: WriteContext) -> bool:
        return context.resource_type == "Basic"

    def check(self, context: WriteContext) -> None:
        return None


def test_a_rule_naming_no_types_is_asked_about_every_write() -> None:
    unnamed = _Unnamed()
    rules: tuple[WriteRule, ...] = (*RULES, unnamed)
    for rtype in ("Basic", "Observation", "Patient", "List"):
        assert unnamed in rules_for_type(rules, rtype)
    observation = [type(r).__name__ for r in rules_for_type(rules, "Observation")]
    assert observation == [
        "BlockLabelKeptOnWrites",
        "BlockFollowsCorrections",
        "ResultsNameLabAndIssue",
        "NlkCodesValid",
        "_Unnamed",
    ]


def test_a_list_of_rules_is_read_as_it_is_now() -> None:
    """A list may change between writes (a test's): it is never looked up in a table."""
    rules: list[WriteRule] = []
    assert list(rules_for_type(rules, "Basic")) == []
    unnamed = _Unnamed()
    rules.append(unnamed)
    assert list(rules_for_type(rules, "Basic")) == [unnamed]


def test_the_lookup_keeps_the_rules_order() -> None:
    observation_rules = rules_for_type(RULES, "Observation")
    positions = [RULES.index(rule) for rule in observation_rules]
    assert positions == sorted(positions)
    assert {type(r).__name__ for r in observation_rules} >= {"BlockLabelKeptOnWrites"}
    assert not any(type(r).__name__ == "SubscriptionRule" for r in observation_rules)
