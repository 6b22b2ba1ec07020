"""The words of `_text`/`_content` (fhir/indexing/text.py) are exactly those of the first
implementation, kept here as the reference: one regex per string, a recursive
`isinstance` walk. The present one joins a resource's ASCII strings and finds their words
with a byte table in one pass, and walks by exact type."""

from __future__ import annotations

import bz2
import json
import re
import string
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.shared_data import resources_in
from samhandling.fhir.indexing import text
from samhandling.fhir.indexing.rows import TextValue
from samhandling.fhir.indexing.text import text_values, words_of
from samhandling.fhir.text_folding import fold

# --- the reference: the implementation before the byte table (main 9d4861c) ---------------

_WORD = re.compile(r"[^\W_]+")
_SKIPPED_KEYS = frozenset(
    {"resourceType", "id", "reference", "system", "url", "fullUrl", "data", "div", "profile"}
)


def reference_words_of(value: str) -> list[str]:
    found = dict.fromkeys(w for w in _WORD.findall(fold(value)) if len(w) <= text.MAX_WORD)
    return list(found)


def reference_text_values(resource: dict[str, Any]) -> tuple[TextValue, ...]:
    narrative = _reference_narrative(resource)
    strings: list[str] = []
    for key, value in resource.items():
        if key != "text" and not _reference_skipped(key):
            _reference_strings(value, strings)
    content: dict[str, None] = {}
    for value in strings:
        content.update(dict.fromkeys(reference_words_of(value)))
    content.update(dict.fromkeys(narrative))
    rows = []
    if narrative:
        rows.append(TextValue(text.NARRATIVE, " ".join(narrative[: text.MAX_WORDS])))
    if content:
        rows.append(TextValue(text.CONTENT, " ".join(list(content)[: text.MAX_WORDS])))
    return tuple(rows)


def _reference_narrative(resource: dict[str, Any]) -> list[str]:
    narrative = resource.get("text")
    div = narrative.get("div") if isinstance(narrative, dict) else None
    if not isinstance(div, str) or not div:
        return []
    reader = text._NarrativeText()
    try:
        reader.feed(div)
        reader.close()
    except (AssertionError, ValueError):
        pass
    return reference_words_of(" ".join(reader.parts))


def _reference_skipped(key: str) -> bool:
    return key in _SKIPPED_KEYS or key.endswith(("Uri", "Url", "Canonical"))


def _reference_strings(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not _reference_skipped(key):
                _reference_strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _reference_strings(item, out)
    elif isinstance(value, str):
        out.append(value)


# --- generated resources -------------------------------------------------------------------

_NORWEGIAN = "æøåÆØÅéÉüÜßΣςœŒđðłþıﬁ\u0301\u030a\u00a0–«»’"
_STRINGS = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.printable + _NORWEGIAN, max_size=120),
    st.text(alphabet="aB9-_ æ", min_size=60, max_size=300),  # words around MAX_WORD
    st.sampled_from(["final", "vital-signs", "8867-4", "Heart rate", "/min", "mm[Hg]", "Bjørn"]),
    st.sampled_from(["2025-12-05T14:57:32Z", "2026-12-05T14:57:32.123456Z", "Ødegård"]),
)
_KEY_NAMES = (
    *("id", "url", "system", "reference", "data", "div", "profile", "resourceType"),
    *("fullUrl", "instantiatesUri", "valueUrl", "valueCanonical", "text", "code"),
    *("display", "value", "coding", "status", "note", "extension", "Uri"),
)
_KEYS = st.one_of(st.sampled_from(_KEY_NAMES), st.text(max_size=12))
_LEAVES = st.one_of(_STRINGS, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
_JSON = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=40,
)
_MARKUP = st.sampled_from(
    [
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">", "</div>", "<p>", "</p>", "<b>",
        "</b>", "<script>", "</script>", "<style>", "</style>", "&amp;", "&oslash;",
        "&#248;", "<br/>", "<td class=\"x y\">", "<", ">", "&",
    ]
)  # fmt: skip
_DIV = st.lists(st.one_of(_STRINGS, _MARKUP), max_size=12).map("".join)
_NARRATIVE = st.one_of(st.fixed_dictionaries({"status": st.just("generated"), "div": _DIV}), _JSON)
_RESOURCES = st.builds(
    lambda base, narrative, rest: {**base, **narrative, **rest},
    st.fixed_dictionaries({"resourceType": st.sampled_from(["Observation", "Patient"])}),
    st.one_of(st.just({}), st.fixed_dictionaries({"text": _NARRATIVE})),
    st.dictionaries(_KEYS, _JSON, max_size=8),
)


@settings(max_examples=600, deadline=None)
@given(_RESOURCES)
def test_the_rows_are_the_references_for_generated_resources(resource: dict[str, Any]) -> None:
    assert text_values(resource) == reference_text_values(resource)


@settings(max_examples=600, deadline=None)
@given(st.lists(_STRINGS, max_size=12))
def test_the_content_row_of_any_strings_is_the_references(strings: list[str]) -> None:
    resource = {"resourceType": "Basic", "note": [{"text": s} for s in strings]}
    assert text_values(resource) == reference_text_values(resource)


@settings(max_examples=600, deadline=None)
@given(st.one_of(_STRINGS, st.text()))
def test_the_words_of_a_search_value_are_the_references(value: str) -> None:
    assert words_of(value) == reference_words_of(value)
    assert words_of(value) == reference_words_of(value)  # and from the cache


# --- the mechanisms, so that a broken one fails by name ------------------------------------


def test_the_ascii_byte_table_makes_the_regex_words_of_every_ascii_character() -> None:
    every = "".join(map(chr, range(128)))
    for value in (every, every[::-1], " ".join(every), "A" * 65 + " b_C-9" + "z" * 64):
        assert text._all_words(value) == _WORD.findall(value.lower())


def test_ascii_and_other_strings_keep_the_order_of_their_words() -> None:
    resource = {
        "resourceType": "Observation",
        "code": {"text": "Blod trykk"},
        "note": [{"text": "Målt hjemme, blod"}, {"text": "TRYKK igjen_senere"}],
        "valueString": "Ærø",
        "issued": "x" * 65,
    }
    row = text_values(resource)[0]
    assert row.words == "blod trykk malt hjemme igjen senere aero"


def test_subclasses_of_json_values_are_walked_like_their_bases() -> None:
    class Code(str):
        pass

    resource = {
        "resourceType": "Observation",
        "code": OrderedDict(coding=[OrderedDict(system="http://loinc.org", code=Code("8867-4"))]),
        "note": (Code("tuple items are no JSON"),),
    }
    assert text_values(resource) == (TextValue(text.CONTENT, "8867 4"),)


def test_a_narrative_alone_gives_both_rows() -> None:
    div = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Bjørn</p><script>x()</script></div>'
    resource = {"resourceType": "Patient", "id": "p1", "text": {"div": div}}
    assert text_values(resource) == (
        TextValue(text.NARRATIVE, "bjorn"),
        TextValue(text.CONTENT, "bjorn"),
    )


def test_a_row_keeps_the_first_max_words_words() -> None:
    many = " ".join(f"w{n}" for n in range(text.MAX_WORDS + 50))
    div = f"<div><p>{many}</p></div>"
    resource = {"resourceType": "Basic", "text": {"div": div}, "note": [{"text": many}]}
    rows = text_values(resource)
    assert rows == reference_text_values(resource)
    assert [len(row.words.split()) for row in rows] == [text.MAX_WORDS, text.MAX_WORDS]


# --- real resources ------------------------------------------------------------------------


def _example_files(root: Path) -> list[Path]:
    folders = ("fhir-test-cases", "ips", "no-basis/json", "no-codes")
    return sorted(p for folder in folders for p in (root / folder).glob("**/*.json"))


def test_the_rows_of_the_example_resources_are_the_references(shared_data: Path) -> None:
    checked = 0
    for path in _example_files(shared_data):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        for resource in resources_in(document):
            assert text_values(resource) == reference_text_values(resource), path
            checked += 1
    assert checked > 500


@pytest.mark.parametrize("which", ["smallest", "information"])
def test_the_rows_of_synthea_resources_are_the_references(shared_data: Path, which: str) -> None:
    files = sorted((shared_data / "synthea").glob("*.json.bz2"), key=lambda p: p.stat().st_size)
    if which == "information":
        chosen = [p for p in files if p.name.startswith("0-")]
    else:
        chosen = [p for p in files if not p.name.startswith("0-")][:4]
    checked = 0
    for path in chosen:
        bundle = json.loads(bz2.decompress(path.read_bytes()))
        for entry in bundle["entry"]:
            resource = entry["resource"]
            assert text_values(resource) == reference_text_values(resource), path
            checked += 1
    assert checked > 500
