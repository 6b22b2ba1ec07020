"""Structure rules for codes outside the bundled subsets: SNOMED CT ids, ATC and NLK codes."""

from __future__ import annotations

import pytest

from samhandling.terminology.structure import (
    atc_level,
    atc_parent,
    atc_problem,
    nlk_problem,
    snomed_problem,
    verhoeff_valid,
)

# Real SNOMED CT concept ids: myocardial infarction, clinical finding, diabetes mellitus,
# hypertensive disorder, penicillin allergy, and one of the US extension (partition 10).
KNOWN_CONCEPTS = ["22298006", "404684003", "73211009", "38341003", "91936005", "368581000119106"]


@pytest.mark.parametrize("code", KNOWN_CONCEPTS)
def test_known_snomed_concept_ids_pass(code: str) -> None:
    assert verhoeff_valid(code)
    assert snomed_problem(code) is None


@pytest.mark.parametrize("code", ["22298006", "404684003"])
def test_every_single_digit_change_fails_the_check_digit(code: str) -> None:
    for position, digit in enumerate(code):
        for other in "0123456789":
            if other == digit:
                continue
            changed = code[:position] + other + code[position + 1 :]
            assert not verhoeff_valid(changed), changed


@pytest.mark.parametrize("code", ["22298006", "404684003", "73211009"])
def test_every_adjacent_transposition_fails_the_check_digit(code: str) -> None:
    for position in range(len(code) - 1):
        a, b = code[position], code[position + 1]
        if a == b:
            continue
        swapped = code[:position] + b + a + code[position + 2 :]
        assert not verhoeff_valid(swapped), swapped


def test_a_wrong_check_digit_is_named_in_plain_words() -> None:
    assert snomed_problem("91936006") == "SNOMED CT 91936006 fails its Verhoeff check digit"


def _with_check_digit(stem: str) -> str:
    """`stem` plus the one digit that makes it Verhoeff-valid (found by trying all ten)."""
    return next(stem + d for d in "0123456789" if verhoeff_valid(stem + d))


@pytest.mark.parametrize(
    ("partition", "kind"),
    [("01", "description"), ("11", "description"), ("02", "relationship"), ("12", "relationship")],
)
def test_description_and_relationship_ids_are_not_concepts(partition: str, kind: str) -> None:
    code = _with_check_digit("1234567" + partition)
    assert verhoeff_valid(code)
    problem = snomed_problem(code)
    assert problem is not None
    assert f"partition identifier {partition}" in problem
    assert f"a {kind} id" in problem


@pytest.mark.parametrize("partition", ["00", "10"])
def test_concept_partitions_pass(partition: str) -> None:
    assert snomed_problem(_with_check_digit("1234567" + partition)) is None


def test_an_unknown_partition_is_refused() -> None:
    problem = snomed_problem(_with_check_digit("1234567" + "05"))
    assert problem is not None and "not a concept id" in problem


@pytest.mark.parametrize(
    "code",
    ["", "12345", "0404684003", "4046840O3", " 22298006", "22298006 ", "1" * 19, "2229-8006"],
)
def test_malformed_snomed_ids_are_refused(code: str) -> None:
    problem = snomed_problem(code)
    assert problem is not None
    assert "SNOMED CT" in problem


def test_the_shortest_and_longest_lengths_are_allowed() -> None:
    assert snomed_problem(_with_check_digit("10000")) is None  # 6 digits, partition 00
    assert snomed_problem(_with_check_digit("1" * 14 + "100")) is None  # 18 digits
    assert snomed_problem(_with_check_digit("1000")) is not None  # 5 digits


@pytest.mark.parametrize(
    ("code", "level"),
    [("J", 1), ("J01", 2), ("J01C", 3), ("J01CA", 4), ("J01CA04", 5), ("V08AB02", 5)],
)
def test_atc_levels(code: str, level: int) -> None:
    assert atc_level(code) == level
    assert atc_problem(code) is None


@pytest.mark.parametrize("group", list("ABCDGHJLMNPRSV"))
def test_the_fourteen_main_groups_are_valid(group: str) -> None:
    assert atc_problem(group) is None


@pytest.mark.parametrize(
    "code",
    ["", "E", "X01", "J1", "J011", "J01c", "J01C1", "J01CA4", "J01CA045", "j01ca04", "J01 CA04"],
)
def test_malformed_atc_codes_are_refused(code: str) -> None:
    problem = atc_problem(code)
    assert problem is not None
    assert problem.startswith(f"ATC code {code!r} is not a valid ATC code")
    assert atc_level(code) is None


def test_a_letter_outside_the_main_groups_is_named() -> None:
    problem = atc_problem("E01AA01")
    assert problem is not None and "'E' is not one of the 14 anatomical main groups" in problem


@pytest.mark.parametrize(
    ("code", "parent"),
    [("J01CA04", "J01CA"), ("J01CA", "J01C"), ("J01C", "J01"), ("J01", "J"), ("J", None)],
)
def test_atc_parent_is_one_level_up(code: str, parent: str | None) -> None:
    assert atc_parent(code) == parent


@pytest.mark.parametrize("code", ["NPU02593", "NOR05172", "NPU99999"])
def test_nlk_codes_are_npu_or_nor_and_five_digits(code: str) -> None:
    assert nlk_problem(code) is None


@pytest.mark.parametrize("code", ["npu02593", "NPU0259", "NPU025930", "LAB02593", "", "NOR0517X"])
def test_malformed_nlk_codes_are_named(code: str) -> None:
    problem = nlk_problem(code)
    assert problem is not None and "five digits" in problem
