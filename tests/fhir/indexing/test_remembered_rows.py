"""Rows and words remembered by their elements' JSON text (`fhir/indexing/memo.py`) are
exactly those converted afresh: on Synthea bundles, on the FHIR examples, on a stream of
vital signs whose elements recur, and on arbitrary (malformed) elements; values JSON
cannot hold as they are (written decimals) are never remembered."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samhandling.fhir.indexing import values
from samhandling.fhir.indexing.memo import Recurrence, json_key
from samhandling.fhir.indexing.values import IndexExtractor, QuantityValue
from samhandling.fhir.json_codec import WrittenDecimal
from samhandling.fhir.search_parameters import default_registry

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITALS = (("8867-4", "/min"), ("59408-5", "%"), ("8310-5", "Cel"), ("85354-9", "mm[Hg]"))


def remembering() -> IndexExtractor:
    return IndexExtractor(default_registry())


def converting() -> IndexExtractor:
    return IndexExtractor(default_registry(), remember=False)


def assert_same_index(resources: list[dict[str, Any]]) -> None:
    """Each resource, twice through one remembering extractor (the second time from the
    memo), gives the very index (same rows, same order) a converting one gives."""
    memo, fresh = remembering(), converting()
    for _ in range(2):
        for resource in resources:
            expected = fresh.extract(resource)
            assert memo.extract(resource) == expected, resource.get("id")


def vital_sign(n: int, value: Any) -> dict[str, Any]:
    code, unit = VITALS[n % len(VITALS)]
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:x:measurement", "value": f"m-{n}"}],
        "status": "final",
        "category": [{"coding": [{"system": "urn:x:category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": f"vital {code}"}]},
        "subject": {"reference": f"Patient/p{n % 3}"},
        "effectiveDateTime": f"2026-01-01T00:00:{n % 60:02d}Z",
        "device": {"identifier": {"system": "urn:x:device", "value": f"d{n % 2}"}},
    }
    quantity = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    if code == "85354-9":
        observation["component"] = [
            {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": quantity},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": quantity},
        ]
    else:
        observation["valueQuantity"] = quantity
    return observation


def test_vital_signs_whose_elements_recur() -> None:
    numbers = [72, 72.0, 36.5, WrittenDecimal("36.50"), 98, WrittenDecimal("98"), 120]
    stream = [vital_sign(n, numbers[n % len(numbers)]) for n in range(300)]
    assert_same_index(stream)


def test_a_written_decimal_keeps_its_precision_after_a_float_of_its_value() -> None:
    memo = remembering()

    def quantities(value: Any) -> list[tuple[Decimal | None, Decimal | None]]:
        index = memo.extract(vital_sign(0, value))
        rows = [r for r in index.quantities if isinstance(r, QuantityValue)]
        return [(r.low, r.high) for r in rows if r.param == "value-quantity"]

    assert quantities(1.5) == [(Decimal("1.45"), Decimal("1.55"))]
    assert quantities(WrittenDecimal("1.50")) == [(Decimal("1.495"), Decimal("1.505"))]
    assert quantities(1.5) == [(Decimal("1.45"), Decimal("1.55"))]


def test_recurring_elements_are_converted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    converted: list[str] = []
    convert = values.convert

    def counting(param_type: str, param: str, *args: Any, **kwargs: Any) -> Any:
        converted.append(param)
        return convert(param_type, param, *args, **kwargs)

    monkeypatch.setattr(values, "convert", counting)
    memo = remembering()
    first, second = vital_sign(0, 70), vital_sign(4, 71)  # the same code, status, category
    memo.extract(first)
    assert {"code", "status", "category", "value-quantity"} <= set(converted)
    converted.clear()
    index = memo.extract(second)
    assert "value-quantity" in converted  # a new value (its composite converts `code`)
    assert not {"status", "category"} & set(converted)
    assert {row.param for row in index.tokens} >= {"code", "status", "category"}


def test_json_key_only_for_json_values() -> None:
    assert json_key({"a": [1, 2.5, "x", None, True]}) == b'{"a":[1,2.5,"x",null,true]}'

    class Text(str):
        pass

    for value in (WrittenDecimal("1.50"), Decimal("1"), dt.datetime(2026, 1, 1), Text("x"), 2**70):
        assert json_key({"value": value}) is None


def test_sources_whose_values_do_not_recur_are_no_longer_remembered() -> None:
    recurrence = Recurrence()
    for _ in range(Recurrence.TRIES):
        assert recurrence.worth("identifier")
        recurrence.note("identifier", False)
        assert recurrence.worth("code")
        recurrence.note("code", True)
    assert not recurrence.worth("identifier")
    assert recurrence.worth("code")
    for _ in range(Recurrence.RETRY - 2):
        assert not recurrence.worth("identifier")
    assert recurrence.worth("identifier")  # tried again: the data may have changed


def test_synthea_bundles(
    shared_data: Path, synthea_resources: Callable[[Path], list[dict[str, Any]]]
) -> None:
    files = sorted((shared_data / "synthea").glob("*.json.bz2"))
    chosen = [p for p in files if p.name.startswith("0-")] + [
        p for p in files if not p.name.startswith("0-")
    ][:3]
    assert_same_index([r for path in chosen for r in synthea_resources(path)])


def test_fhir_examples(shared_data: Path) -> None:
    resources = []
    paths = [
        *sorted((shared_data / "fhir-test-cases/r4/examples").glob("*.json")),
        *sorted((shared_data / "ips").rglob("*.json")),
        *sorted((shared_data / "no-basis/json").rglob("*.json")),
    ]
    for path in paths:
        resource = json.loads(path.read_text())
        found = [resource]
        if resource.get("resourceType") == "Bundle":
            found += [e["resource"] for e in resource.get("entry", []) if "resource" in e]
        types = default_registry().resource_types
        resources += [r for r in found if r.get("resourceType") in types]
    assert len(resources) > 200
    assert_same_index(resources)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["value", "system", "code", "coding", "text", "reference", "unit"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=8,
)
_MEMO = remembering()  # shared by every example: their elements meet in its memo


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    elements=st.dictionaries(
        st.sampled_from(["code", "subject", "valueQuantity", "component", "category", "status"]),
        _JSON,
        max_size=4,
    ),
)
def test_arbitrary_elements(elements: dict[str, Any]) -> None:
    resource = {"resourceType": "Observation", **elements}
    expected = converting().extract(resource)
    assert _MEMO.extract(resource) == expected
    assert _MEMO.extract(resource) == expected
