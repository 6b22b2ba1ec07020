"""The plain vital-signs Observation's direct extraction (fhir/indexing/vital_signs.py) gives
exactly the generic extractor's rows, in the same order, and the same index table rows:
for generated vital signs (odd values included), the measurement workload, the official
examples and Synthea; and it is off whenever the registry's Observation parameters are not
the official ones."""

from __future__ import annotations

import copy
import json
import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.shared_data import shared_data_dir
from samhandling.fhir.fhir_dates import parse_date
from samhandling.fhir.indexing import vital_signs
from samhandling.fhir.indexing.values import IndexExtractor, ResourceIndex
from samhandling.fhir.search_parameters import SearchParameterRegistry, default_registry
from samhandling.store.index_rows import index_rows

GENERIC = IndexExtractor(default_registry(), narrow=False)
NARROW = IndexExtractor(default_registry())

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def assert_narrow_equals_generic(resource: dict[str, Any]) -> bool:
    """Equal indexes and equal table rows; whether the narrow path was taken."""
    expected = GENERIC.extract(copy.deepcopy(resource))
    for _ in range(2):  # the second time from the rows remembered the first
        found = NARROW.extract(resource)
        assert found == expected, resource
        _assert_same_table_rows(found, expected)
    return vital_signs.plain_shape(resource)


def _assert_same_table_rows(found: ResourceIndex, expected: ResourceIndex) -> None:
    base = ("Observation", "o-1", "p-1", "p-1")
    assert index_rows(found, base) == index_rows(expected, base)


def observations_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The Observations of a resource or of a Bundle's entries."""
    found = [document, *(e.get("resource") for e in document.get("entry", []))]
    return [r for r in found if isinstance(r, dict) and r.get("resourceType") == "Observation"]


# --- generated vital signs --------------------------------------------------------------

texts = st.one_of(
    st.sampled_from(["", "Heart rate", "Blodtrykk systolisk", "Ø2 metning", "a|b$c"]),
    st.text(max_size=12),
)
odd = st.one_of(st.none(), st.integers(-3, 3), st.booleans(), st.just([]), st.just({}))
maybe_text = st.one_of(texts, odd)
numbers = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 0.0, -0.0, 1, 1.0, 1.5, 120, 36.6, True, False]),
    st.decimals(allow_nan=False, places=3, min_value=-1000, max_value=1000),
    st.sampled_from([Decimal("1.50"), Decimal("-0.0"), Decimal("120")]),
    st.none(),
    st.just("12"),
)


def optional(**fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


codings = optional(
    system=st.one_of(st.sampled_from([LOINC, "urn:oid:2.16.578.1.12.4.1.1.7010"]), maybe_text),
    code=st.one_of(st.sampled_from(["8867-4", "85354-9", "8480-6", "8462-4"]), maybe_text),
    display=maybe_text,
    version=st.just("2.74"),
)
concepts = optional(
    coding=st.one_of(st.lists(codings, max_size=3), odd),
    text=maybe_text,
)
quantities = optional(value=numbers, unit=maybe_text, system=maybe_text, code=maybe_text)
references = optional(
    reference=st.one_of(
        st.sampled_from(
            [
                "Patient/demo-1",
                "Patient/demo-1/_history/2",
                "https://fhir.example.no/fhir/Patient/x",
                "#contained",
                "urn:uuid:0d5c7e0a-1b2c-4d5e-8f90-123456789abc",
                "Device/d-9",
            ]
        ),
        maybe_text,
    ),
    display=texts,
    identifier=optional(system=maybe_text, value=maybe_text),
    type=st.just("Patient"),
)
components = optional(code=concepts, valueQuantity=quantities)
utc_seconds = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format,
    st.sampled_from([0, 1, 999, 1000, 2024, 2026, 9998, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
)
dates = st.one_of(
    utc_seconds,
    utc_seconds.map(lambda text: text.replace("2", "\N{FULLWIDTH DIGIT TWO}")),
    utc_seconds.map(lambda text: text.replace("Z", "+01:00")),
    utc_seconds.map(lambda text: text.replace("T", " ")),
    st.sampled_from(
        [
            "2026-12-05T18:25:15Z",
            "2026-12-05T18:25:15.123+01:00",
            "2026-12-05",
            "2026-03",
            "2026",
            "2026-13-45T99:00:00Z",
            "",
        ]
    ),
    texts,
)
vital_sign = optional(
    resourceType=st.just("Observation"),
    id=st.just("o-1"),
    meta=optional(
        versionId=st.just("1"),
        lastUpdated=st.just("2026-12-05T18:00:00.123456Z"),
        profile=st.lists(
            st.sampled_from(["http://hl7.org/fhir/StructureDefinition/vitalsigns", ""])
        ),
        tag=st.just([{"system": "urn:x", "code": "t"}]),
    ),
    identifier=st.lists(optional(system=maybe_text, value=maybe_text), max_size=2),
    status=st.one_of(st.sampled_from(["final", "amended"]), odd),
    category=st.lists(concepts, max_size=2),
    code=st.one_of(concepts, odd),
    subject=references,
    encounter=references,
    device=references,
    effectiveDateTime=st.one_of(dates, odd),
    issued=st.just("2026-12-05T18:25:16Z"),
    valueQuantity=st.one_of(quantities, odd),
    component=st.lists(components, max_size=3),
    # keys outside the shape: the generic path
    valueString=st.just("x"),
    note=st.just([{"text": "målt hjemme"}]),
)


@given(vital_sign.map(lambda r: {"resourceType": "Observation", **r}))
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_vital_signs_give_the_generic_rows(resource: dict[str, Any]) -> None:
    assert_narrow_equals_generic(resource)


@given(st.one_of(utc_seconds, dates))
@settings(max_examples=500, deadline=None)
def test_a_utc_second_parses_as_fhir_dates_does(text: str) -> None:
    low = vital_signs._utc_second(text)
    try:
        expected = parse_date(text)
    except ValueError:
        assert low is None
        return
    if low is not None:
        assert (low, low + timedelta(seconds=1)) == (expected.low, expected.high)
        assert low.tzinfo is expected.low.tzinfo


@given(
    st.fixed_dictionaries(
        {
            "code": st.sampled_from(["8867-4", "59408-5", "85354-9"]),
            "value": numbers,
            "second": numbers,
            "codings": st.integers(1, 3),
        }
    )
)
@settings(max_examples=300, deadline=None)
def test_plain_vital_signs_take_the_narrow_path(case: dict[str, Any]) -> None:
    coding = {"system": LOINC, "code": case["code"], "display": "Vital"}
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:example:m", "value": "dev/1"}],
        "status": "final",
        "category": [{"coding": [{"system": "urn:cat", "code": "vital-signs"}]}],
        "code": {"coding": [coding] * case["codings"]},
        "subject": {"reference": "Patient/demo-1"},
        "effectiveDateTime": "2026-12-05T18:25:15Z",
        "device": {"identifier": {"system": "urn:example:device", "value": "dev"}},
        "id": "o-1",
        "meta": {"versionId": "1", "lastUpdated": "2026-12-05T18:00:00.1Z"},
    }
    if case["code"] == "85354-9":
        resource["component"] = [
            {"code": {"coding": [coding]}, "valueQuantity": {"value": v, "code": "mm[Hg]"}}
            for v in (case["value"], case["second"], case["value"])
        ]
    else:
        resource["valueQuantity"] = {"value": case["value"], "system": UCUM, "code": "/min"}
    assert assert_narrow_equals_generic(resource)


def test_the_measurement_workload_takes_the_narrow_path() -> None:
    from bench.workloads.measurements import MeasurementSource

    source = MeasurementSource({"patients": ["demo-1", "demo-2"] * 10}, random.Random(3))
    request = source.next_request()
    assert request is not None
    for entry in json.loads(request.body)["entry"]:
        resource = entry["resource"]
        resource.update(id="o-1", meta={"versionId": "1", "lastUpdated": "2026-12-05T18:00:00Z"})
        assert assert_narrow_equals_generic(resource)


# --- real data ----------------------------------------------------------------------------


def test_example_observations_give_the_generic_rows() -> None:
    root = shared_data_dir()
    paths = sorted((root / "fhir-test-cases/r4/examples").glob("*.json"))
    paths += sorted((root / "ips/examples").glob("*.json"))
    found = [o for path in paths for o in observations_of(json.loads(path.read_text()))]
    assert found
    for resource in found:
        assert_narrow_equals_generic(resource)


@pytest.mark.parametrize("which", range(3))
def test_synthea_observations_give_the_generic_rows(which: int) -> None:
    import bz2

    paths = sorted((shared_data_dir() / "synthea").glob("*.json.bz2"))
    patients = [p for p in paths if not p.name.startswith("0-")]
    narrow = 0
    for path in patients[which :: max(1, len(patients) // 3)][:2]:
        for resource in observations_of(json.loads(bz2.decompress(path.read_bytes()))):
            narrow += assert_narrow_equals_generic(resource)
    assert narrow > 0  # Synthea's vital signs have the shape (encounter, issued, profile)


# --- the registry gate ----------------------------------------------------------------------


def _registry_with(parameter: dict[str, Any]) -> SearchParameterRegistry:
    registry = SearchParameterRegistry.official()
    registry.add({"resourceType": "SearchParameter", "status": "active", **parameter})
    return registry


@pytest.mark.parametrize(
    "parameter",
    [
        {  # a custom parameter on a key of the shape
            "url": "https://samhandling.no/fhir/SearchParameter/obs-display",
            "code": "code-display",
            "base": ["Observation"],
            "type": "string",
            "expression": "Observation.code.coding.display",
        },
        {  # an official parameter replaced (same code, another expression)
            "url": "https://samhandling.no/fhir/SearchParameter/obs-status",
            "code": "status",
            "base": ["Observation"],
            "type": "token",
            "expression": "Observation.category",
        },
    ],
)
def test_a_changed_registry_turns_the_narrow_path_off(parameter: dict[str, Any]) -> None:
    registry = _registry_with({"name": parameter["code"], "description": "test", **parameter})
    extractor = IndexExtractor(registry)
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]},
        "category": [{"coding": [{"system": "urn:cat", "code": "vital-signs"}]}],
    }
    assert vital_signs.plain_shape(resource)
    assert extractor._plan("Observation").direct is None
    expected = IndexExtractor(registry, narrow=False).extract(resource)
    assert extractor.extract(resource) == expected
    assert any(row.param == parameter["code"] for row in expected.rows())


def test_the_official_registry_has_the_narrow_path() -> None:
    assert NARROW._plan("Observation").direct is not None
    assert GENERIC._plan("Observation").direct is None
    assert (
        IndexExtractor(default_registry(), every_parameter=True)._plan("Observation").direct is None
    )


def test_remembered_rows_are_forgotten_at_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vital_signs, "REMEMBERED_MAX", 3)
    for n in range(10):
        resource = {
            "resourceType": "Observation",
            "code": {"coding": [{"system": LOINC, "code": f"c-{n}"}]},
            "valueQuantity": {"value": n + 1, "code": "/min"},
        }
        assert_narrow_equals_generic(resource)
        assert len(vital_signs._REMEMBERED) <= 3
