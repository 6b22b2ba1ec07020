"""Looking up and checking codes: membership rules, structure-only acceptance, displays."""

from __future__ import annotations

import pytest

from samhandling.terminology import (
    ATC_SYSTEM,
    SNOMED_SYSTEM,
    CodeCheck,
    code_system,
    lookup,
    validate_code,
    volven_system,
)
from samhandling.terminology.content import code_systems

V7497 = volven_system(7497)


def test_volven_system_uri() -> None:
    assert volven_system(7497) == "urn:oid:2.16.578.1.12.4.1.1.7497"
    assert volven_system("7651") == "urn:oid:2.16.578.1.12.4.1.1.7651"


def test_lookup_of_an_atc_code_carries_its_parent() -> None:
    concept = lookup(ATC_SYSTEM, "J01CA04")
    assert concept is not None
    assert (concept.system, concept.code, concept.display) == (ATC_SYSTEM, "J01CA04", "amoxicillin")
    assert concept.parents == ["J01CA"]
    chain, code = [], "J01CA04"
    while (found := lookup(ATC_SYSTEM, code)) is not None and found.parents:
        code = found.parents[0]
        chain.append(code)
    assert chain == ["J01CA", "J01C", "J01", "J"]


def test_lookup_of_a_volven_code_and_of_a_harvested_snomed_code() -> None:
    reaction = lookup(V7497, "1")
    assert reaction is not None and reaction.display == "Anafylaktisk reaksjon"
    penicillin_allergy = lookup(SNOMED_SYSTEM, "91936005")
    assert penicillin_allergy is not None
    assert penicillin_allergy.display == "Allergy to penicillin (finding)"


def test_lookup_gives_definitions_and_designations_where_the_source_has_them() -> None:
    treat = lookup("urn:oid:2.16.840.1.113883.1.11.20448", "TREAT")
    assert treat is not None
    assert treat.definition and treat.definition.startswith("To perform")
    assert [d.value for d in treat.designations] == ["Behandling"]


def test_lookup_of_unknown_things_is_none() -> None:
    assert lookup(V7497, "99") is None
    assert lookup(ATC_SYSTEM, "J01CA99") is None  # well-formed, but not bundled
    assert lookup("http://example.org/unknown", "1") is None


def test_lookups_are_served_from_one_cached_load() -> None:
    assert code_systems() is code_systems()
    assert lookup(ATC_SYSTEM, "N02BE01") is lookup(ATC_SYSTEM, "N02BE01")


def test_code_system_returns_a_copy_of_the_bundled_resource() -> None:
    resource = code_system(V7497)
    assert resource is not None and resource["content"] == "fragment"
    resource["concept"].clear()
    assert lookup(V7497, "1") is not None
    assert code_system("http://example.org/unknown") is None


def test_a_bundled_code_is_valid_with_its_display() -> None:
    assert validate_code(ATC_SYSTEM, "M01AE01") == CodeCheck(True, None, "ibuprofen")
    assert validate_code(V7497, "5") == CodeCheck(True, None, "Astma")


def test_volven_lists_require_membership() -> None:
    check = validate_code(V7497, "99")
    assert check == CodeCheck(False, "7497 has no code '99'", None)
    assert not validate_code(volven_system(7651), "11").valid
    assert not validate_code(V7497, " 1").valid  # codes are compared exactly


def test_a_well_formed_atc_code_outside_the_subset_is_checked_for_structure_only() -> None:
    check = validate_code(ATC_SYSTEM, "J01CA99")
    assert check.valid
    assert check.display is None
    assert check.message is not None and "checked for structure only" in check.message


def test_a_well_formed_snomed_id_outside_the_subset_is_checked_for_structure_only() -> None:
    assert lookup(SNOMED_SYSTEM, "404684003") is None
    check = validate_code(SNOMED_SYSTEM, "404684003", "Clinical finding")
    assert check.valid and check.display is None
    assert check.message is not None
    assert "checked for structure only" in check.message
    assert "display was not checked" in check.message


@pytest.mark.parametrize(
    ("system", "code", "message"),
    [
        (SNOMED_SYSTEM, "91936006", "SNOMED CT 91936006 fails its Verhoeff check digit"),
        (ATC_SYSTEM, "J01C1", "ATC code 'J01C1' is not a valid ATC code"),
        (ATC_SYSTEM, "j01ca04", "ATC code 'j01ca04' is not a valid ATC code"),
    ],
)
def test_malformed_codes_of_structured_systems_are_refused(
    system: str, code: str, message: str
) -> None:
    check = validate_code(system, code)
    assert not check.valid
    assert check.message is not None and check.message.startswith(message)


@pytest.mark.parametrize(
    ("code", "kind"), [("37436014", "description id"), ("100000028", "relationship id")]
)
def test_snomed_description_and_relationship_ids_are_refused_as_codes(code: str, kind: str) -> None:
    check = validate_code(SNOMED_SYSTEM, code)  # Verhoeff-valid, partitions 01 and 02
    assert not check.valid
    assert check.message is not None and kind in check.message


def test_an_unknown_system_is_refused_clearly() -> None:
    check = validate_code("http://loinc.org", "1234-5")
    assert not check.valid
    assert check.message == "The code system 'http://loinc.org' is not known to this server"


def test_display_comparison_ignores_case_and_surrounding_whitespace() -> None:
    assert validate_code(V7497, "1", "  anafylaktisk REAKSJON ").valid
    assert validate_code(ATC_SYSTEM, "J01CA04", "Amoxicillin").valid


def test_inner_whitespace_runs_count_as_one_space() -> None:
    # The source writes 7497 code 13 with a space and a no-break space after the comma.
    assert lookup(V7497, "13").display == "Oppkast, \u00a0diaré, magesmerter"  # type: ignore[union-attr]
    assert validate_code(V7497, "13", "Oppkast, diaré, magesmerter").valid
    assert validate_code(V7497, "13", "oppkast,\tdiaré,  magesmerter").valid
    assert validate_code(V7497, "13", "Oppkast diaré magesmerter").warning is not None


def test_a_wrong_display_is_a_warning_naming_the_expected_one() -> None:
    check = validate_code(V7497, "1", "Astma")
    assert check.valid and check.message is None
    assert check.display == "Anafylaktisk reaksjon"
    assert check.warning == (
        "Wrong display 'Astma' for 7497 code '1': expected 'Anafylaktisk reaksjon'"
    )
    assert validate_code(V7497, "1", "Anafylaktisk reaksjon").warning is None


def test_the_norwegian_atc_name_is_a_correct_display() -> None:
    check = validate_code(ATC_SYSTEM, "J01CE02", "Fenoksymetylpenicillin")
    assert check == CodeCheck(True, None, "phenoxymethylpenicillin")
    assert validate_code(ATC_SYSTEM, "J01CE02", "phenoxymethylpenicillin").warning is None
    assert validate_code(ATC_SYSTEM, "N02BE01", "Paracetamol").warning is None
    wrong = validate_code(ATC_SYSTEM, "J01CE02", "Amoksicillin")
    assert wrong.warning == (
        "Wrong display 'Amoksicillin' for ATC code 'J01CE02': "
        "expected 'phenoxymethylpenicillin' or 'fenoksymetylpenicillin'"
    )


def test_a_designation_is_a_valid_display() -> None:
    assert validate_code("urn:oid:2.16.840.1.113883.1.11.20448", "TREAT", "behandling").valid
    # Synthea writes 185347001 both as "Encounter for problem" and with its semantic tag.
    assert validate_code(SNOMED_SYSTEM, "185347001", "Encounter for problem (procedure)").valid
