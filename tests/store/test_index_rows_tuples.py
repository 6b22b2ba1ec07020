"""The index rows as tuples (store/index_rows.py) hold exactly what the dict rows they
replaced held, for the official examples and Synthea patients (and the measurement
workload's vital signs): the old conversion is kept here as the reference."""

from __future__ import annotations

import bz2
import json
import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fixtures.shared_data import shared_data_dir
from samhandling.fhir.indexing.values import ResourceIndex, extract_index_values
from samhandling.fhir.instants import date_to_us
from samhandling.fhir.search_parameters import default_registry
from samhandling.store.index_rows import BASE_COLUMNS, columns, composite_key
from samhandling.store.index_rows import index_rows as index_tuples
from samhandling.store.schema import INDEX_TABLES


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


# The dict rows as main built them before the tuples (one lambda per kind)
_OLD: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "token": ("tokens", lambda v: {"param": v.param, "system": v.system, "code": v.code,
                                   "text": v.text}),
    "string": ("strings", lambda v: {"param": v.param, "value_folded": v.normalized,
                                     "value_exact": v.exact}),
    "date": ("dates", lambda v: {"param": v.param, "low_us": date_to_us(v.low),
                                 "high_us": date_to_us(v.high)}),
    "number": ("numbers", lambda v: {"param": v.param, "value": _number(v.value),
                                     "low": _number(v.low), "high": _number(v.high)}),
    "quantity": ("quantities", lambda v: {
        "param": v.param, "value": _number(v.value), "low": _number(v.low),
        "high": _number(v.high), "system": v.system, "code": v.code, "unit": v.unit}),
    "reference": ("references", lambda v: {
        "param": v.param, "target_type": v.target_type, "target_id": v.target_id,
        "target_version": v.version, "url": v.url}),
    "uri": ("uris", lambda v: {"param": v.param, "uri": v.uri}),
    "composite": ("composites", lambda v: {"param": v.param, "value_key": composite_key(v)}),
    "text": ("texts", lambda v: {"param": v.param, "words": v.words}),
}  # fmt: skip


def _old_rows(index: ResourceIndex, base: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        kind: [{**base, **convert(value)} for value in getattr(index, field)]
        for kind, (field, convert) in _OLD.items()
    }


def assert_same_rows(resource: dict[str, Any]) -> None:
    index = extract_index_values(resource)
    base = (resource["resourceType"], "r-1", "p-1", "p-1")
    old = _old_rows(index, dict(zip(BASE_COLUMNS, base, strict=True)))
    new = index_tuples(index, base)
    for kind, rows in old.items():
        found = [dict(zip(columns(kind), row, strict=True)) for row in new.get(kind, [])]
        assert found == rows, f"{resource['resourceType']}/{resource.get('id')} {kind}"


def test_every_kind_names_columns_of_its_table() -> None:
    assert set(_OLD) == set(INDEX_TABLES)
    for kind, table in INDEX_TABLES.items():
        assert set(columns(kind)) <= set(table.c.keys()), kind


def _resources(path: Path) -> Iterator[dict[str, Any]]:
    raw = path.read_bytes()
    found = json.loads(bz2.decompress(raw) if path.suffix == ".bz2" else raw)
    types = default_registry().resource_types
    for resource in [found, *(e.get("resource") for e in found.get("entry", []))]:
        if isinstance(resource, dict) and resource.get("resourceType") in types:
            yield resource


def test_examples_rows_equal_the_dict_rows() -> None:
    root = shared_data_dir()
    paths = sorted((root / "fhir-test-cases/r4/examples").glob("*.json"))
    paths += sorted((root / "ips/examples").glob("*.json"))
    assert paths
    for path in paths:
        for resource in _resources(path):
            assert_same_rows(resource)


@pytest.mark.parametrize("which", range(4))
def test_synthea_rows_equal_the_dict_rows(which: int) -> None:
    paths = sorted((shared_data_dir() / "synthea").glob("*.json.bz2"))
    for path in paths[which :: max(1, len(paths) // 4)][:1]:
        for resource in _resources(path):
            assert_same_rows(resource)


def test_measurement_rows_equal_the_dict_rows() -> None:
    from bench.workloads.measurements import MeasurementSource

    source = MeasurementSource({"patients": ["demo-1", "demo-2"] * 10}, random.Random(3))
    request = source.next_request()
    assert request is not None
    for entry in json.loads(request.body)["entry"]:
        assert_same_rows(entry["resource"])
