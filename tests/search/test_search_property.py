"""Property test: the engine agrees with a plain in-memory evaluation, on both databases.

Hypothesis generates small sets of Patients and Observations from a value space full of
traps (accents, partial dates, time zones, several codings, equal numbers with different
precision) and queries over them (OR, AND, prefixes, modifiers, a chain). The oracle below
evaluates each query directly on the resource JSON, following R4 §3.1.1, without SQL.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from searchkit import SearchStore

from samhandling.fhir.fhir_dates import parse_date_range
from samhandling.fhir.text_folding import fold

TAG = "urn:samhandling:property"
FAMILIES = ["Ødegård", "Odegard", "Berg", "berg", "Bjørnæs", "Åsen", "Aasen"]
GIVEN = ["Kari", "Åse", "ase"]
DATES = ["1980", "1980-03", "1980-03-15", "1981-12-31", "1980-03-15T23:30:00Z"]
CODINGS = [("http://loinc.org", "1"), ("http://loinc.org", "2"), ("urn:x", "1"), ("urn:x", "3")]
VALUES = [
    Decimal("9"),
    Decimal("10"),
    Decimal("10.0"),
    Decimal("99.5"),
    Decimal("100"),
    Decimal("100.4"),
]
UNITS = ["mg", "g", None]
PREFIXES = ["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"]
_batch = itertools.count()


# --- data -----------------------------------------------------------------------------

patients = st.lists(
    st.fixed_dictionaries(
        {
            "gender": st.sampled_from(["male", "female", None]),
            "birthDate": st.sampled_from([*DATES[:4], None]),
            "family": st.sampled_from(FAMILIES),
            "given": st.sampled_from([*GIVEN, None]),
            "identifier": st.sampled_from([None, ("urn:a", "1"), ("urn:b", "1"), ("urn:a", "2")]),
        }
    ),
    min_size=1,
    max_size=6,
)
observations = st.lists(
    st.fixed_dictionaries(
        {
            "codings": st.lists(st.sampled_from(CODINGS), min_size=1, max_size=2, unique=True),
            "value": st.sampled_from([*VALUES, None]),
            "unit": st.sampled_from(UNITS),
            "date": st.sampled_from([*DATES, None]),
            "subject": st.integers(min_value=0, max_value=5),
        }
    ),
    max_size=8,
)


def patient_json(batch: int, n: int, p: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": f"b{batch}-p{n}",
        "meta": {"tag": [{"system": TAG, "code": str(batch)}]},
        "name": [{"family": p["family"]}],
    }
    if p["given"]:
        body["name"][0]["given"] = [p["given"]]
    for key in ("gender", "birthDate"):
        if p[key]:
            body[key] = p[key]
    if p["identifier"]:
        body["identifier"] = [{"system": p["identifier"][0], "value": p["identifier"][1]}]
    return body


def observation_json(batch: int, n: int, o: dict[str, Any], count: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"b{batch}-o{n}",
        "status": "final",
        "meta": {"tag": [{"system": TAG, "code": str(batch)}]},
        "code": {"coding": [{"system": s, "code": c} for s, c in o["codings"]]},
        "subject": {"reference": f"Patient/b{batch}-p{o['subject'] % count}"},
    }
    if o["value"] is not None:
        quantity: dict[str, Any] = {"value": float(o["value"])}
        if o["unit"]:
            quantity.update(system="http://unitsofmeasure.org", code=o["unit"])
        body["valueQuantity"] = quantity
    if o["date"]:
        body["effectiveDateTime"] = o["date"]
    return body


# --- queries --------------------------------------------------------------------------


def _date_query(code: str) -> st.SearchStrategy[tuple[str, str]]:
    return st.tuples(
        st.just(code),
        st.builds(
            lambda p, d: p + d,
            st.sampled_from(PREFIXES),
            st.sampled_from([*DATES[:4], "1980-03-15T10:00"]),
        ),
    )


patient_queries = st.one_of(
    st.tuples(st.just("gender"), st.sampled_from(["male", "female", "male,female"])),
    st.tuples(st.just("gender:not"), st.sampled_from(["male", "female"])),
    st.tuples(st.just("gender:missing"), st.sampled_from(["true", "false"])),
    _date_query("birthdate"),
    st.tuples(
        st.sampled_from(["family", "name", "family:exact", "family:contains"]),
        st.sampled_from(["ødegård", "Ødegård", "odeg", "berg", "Berg", "aa", "åsen", "sen", "ase"]),
    ),
    st.tuples(
        st.just("identifier"), st.sampled_from(["1", "urn:a|1", "urn:b|", "urn:a|1,urn:a|2"])
    ),
)
observation_queries = st.one_of(
    st.tuples(st.just("code"), st.sampled_from(["1", "http://loinc.org|1", "urn:x|", "2,3", "|1"])),
    st.tuples(st.just("code:not"), st.sampled_from(["1", "http://loinc.org|2"])),
    st.tuples(
        st.just("value-quantity"),
        st.builds(
            lambda p, v, u: f"{p}{v}{u}",
            st.sampled_from(PREFIXES),
            st.sampled_from(["10", "100", "99.5", "9.0"]),
            st.sampled_from(["", "||mg", "|http://unitsofmeasure.org|g"]),
        ),
    ),
    _date_query("date"),
    st.tuples(st.just("subject:Patient.gender"), st.sampled_from(["male", "female"])),
    st.tuples(st.just("subject:Patient.family"), st.sampled_from(["odegard", "berg"])),
)


# --- the oracle -----------------------------------------------------------------------


def _date_match(prefix: str, target: str, value: str) -> bool:
    t_low, t_high = parse_date_range(target)
    s_low, s_high = parse_date_range(value)
    within = s_low <= t_low and t_high <= s_high
    return {
        "eq": within,
        "ne": not within,
        "gt": t_high > s_high,
        "lt": t_low < s_low,
        "ge": t_high > s_high or within,
        "le": t_low < s_low or within,
        "sa": t_low >= s_high,
        "eb": t_high <= s_low,
    }[prefix]


def _split_prefix(value: str) -> tuple[str, str]:
    return (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)


def _number_match(prefix: str, target: Decimal, text: str) -> bool:
    value = Decimal(text)
    half = Decimal((0, (5,), value.as_tuple().exponent - 1))  # type: ignore[operator]
    low, high = value - half, value + half
    t_half = Decimal((0, (5,), target.as_tuple().exponent - 1))  # type: ignore[operator]
    return {
        "eq": low <= target < high,
        "ne": not low <= target < high,
        "gt": target > value,
        "lt": target < value,
        "ge": target >= value,
        "le": target <= value,
        "sa": target - t_half >= high,
        "eb": target + t_half <= low,
    }[prefix]


def _token_match(pairs: list[tuple[str | None, str]], value: str) -> bool:
    if "|" not in value:
        return any(code == value for _, code in pairs)
    system, code = value.split("|", 1)
    return any((s or "") == system and (not code or c == code) for s, c in pairs)


def patient_matches(p: dict[str, Any], name: str, value: str) -> bool:
    code, _, modifier = name.partition(":")
    if code == "gender":
        if modifier == "missing":
            return (p["gender"] is None) == (value == "true")
        hit = p["gender"] in value.split(",")
        return not hit if modifier == "not" else hit
    if code == "birthdate":
        prefix, text = _split_prefix(value)
        return p["birthDate"] is not None and _date_match(prefix, p["birthDate"], text)
    if code in ("family", "name"):
        texts = [p["family"]] + ([p["given"]] if code == "name" and p["given"] else [])
        if modifier == "exact":
            return value in texts
        if modifier == "contains":
            return any(fold(value) in fold(t) for t in texts)
        return any(fold(t).startswith(fold(value)) for t in texts)
    pairs = [p["identifier"]] if p["identifier"] else []
    return any(_token_match(pairs, v) for v in value.split(","))


def observation_matches(
    o: dict[str, Any], people: list[dict[str, Any]], name: str, value: str
) -> bool:
    if name.startswith("subject:Patient."):
        return patient_matches(people[o["subject"] % len(people)], name.split(".", 1)[1], value)
    if name == "code":
        return any(_token_match(o["codings"], v) for v in value.split(","))
    if name == "code:not":
        return not _token_match(o["codings"], value)
    if name == "date":
        prefix, text = _split_prefix(value)
        return o["date"] is not None and _date_match(prefix, o["date"], text)
    if o["value"] is None:
        return False
    number, *unit = value.split("|")
    prefix, text = _split_prefix(number)
    if unit and o["unit"] != unit[-1]:
        return False
    return _number_match(prefix, Decimal(repr(float(o["value"]))), text)


# --- the property ---------------------------------------------------------------------


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    people=patients,
    obs=observations,
    patient_query=st.lists(patient_queries, min_size=1, max_size=2),
    observation_query=st.lists(observation_queries, min_size=1, max_size=2),
)
def test_engine_agrees_with_the_oracle(
    store: SearchStore,
    people: list[dict[str, Any]],
    obs: list[dict[str, Any]],
    patient_query: list[tuple[str, str]],
    observation_query: list[tuple[str, str]],
) -> None:
    batch = next(_batch)
    store.put(*(patient_json(batch, n, p) for n, p in enumerate(people)))
    store.put(*(observation_json(batch, n, o, len(people)) for n, o in enumerate(obs)))
    tag = f"_tag={TAG}|{batch}"

    query = "&".join(f"{k}={v}".replace("+", "%2B") for k, v in patient_query)
    expected = {
        f"b{batch}-p{n}"
        for n, p in enumerate(people)
        if all(patient_matches(p, k, v) for k, v in patient_query)
    }
    assert store.found("Patient", f"{tag}&{query}") == expected, query

    query = "&".join(f"{k}={v}" for k, v in observation_query)
    expected = {
        f"b{batch}-o{n}"
        for n, o in enumerate(obs)
        if all(observation_matches(o, people, k, v) for k, v in observation_query)
    }
    assert store.found("Observation", f"{tag}&{query}") == expected, query
