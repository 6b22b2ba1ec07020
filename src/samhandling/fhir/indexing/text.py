"""Full-text index values: the words of a resource for ``_text`` and ``_content``.

R4 §3.1.1.5.x (search.html, "_content and _text"): ``_text`` searches the narrative
(``text.div``), ``_content`` "the entire content of the resource". Both are indexed here as
one row per resource and parameter whose ``words`` are the distinct words of that text:

* a word is a run of letters and digits after ``fold()`` (``fhir/text_folding.py``, the same
  folding as string search): ``Bjørn`` -> ``bjorn``, ``Hjertesvikt,`` -> ``hjertesvikt``,
  ``J01CE02`` -> ``j01ce02``, ``covid-19`` -> ``covid`` and ``19``;
* ``_text``: the narrative's character data; tags, attributes and the content of
  ``<script>``/``<style>`` are not words;
* ``_content``: every string value of the resource (codes, displays, names, notes, …) plus the
  narrative's words, except values that are identifiers of the machinery rather than
  content: ``resourceType``, ``id``, ``reference``, ``system``, ``url`` (and other uri-like
  keys below) and base64 ``data``;
* words longer than ``MAX_WORD`` characters are left out (base64 and hashes are no words),
  and at most ``MAX_WORDS`` distinct words are kept per row.

The row's ``words`` is the words separated by single spaces: valid, unquoted, as PostgreSQL
``tsvector`` input and as the text of an SQLite FTS5 column with the ``ascii`` tokenizer,
so both databases index exactly the same words (no stemming; see docs/SEARCH.md).
"""

from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

from samhandling.fhir.indexing.rows import TextValue
from samhandling.fhir.text_folding import fold

__all__ = ["CONTENT", "MAX_WORD", "MAX_WORDS", "NARRATIVE", "text_values", "words_of"]

NARRATIVE = "_text"
CONTENT = "_content"
MAX_WORD = 64
MAX_WORDS = 10_000
_WORD = re.compile(r"[^\W_]+")
# An ASCII text's words without the regex: its letters lowered, every other byte a space,
# split on spaces. For ASCII, `fold` is `str.lower` and `_WORD` is [A-Za-z0-9]+, so the
# words are the same; a per-byte table is several times cheaper than the regex on a str.
_ASCII_WORD_BYTES = bytes(
    ord(c.lower()) if c.isascii() and c.isalnum() else ord(" ") for c in map(chr, range(256))
)
_SKIPPED_KEYS = frozenset(
    {"resourceType", "id", "reference", "system", "url", "fullUrl", "data", "div", "profile"}
)
_SKIPPED_TAGS = frozenset({"script", "style"})


def words_of(text: str) -> list[str]:
    """The distinct folded words of ``text``, in order of appearance."""
    return list(_words(text))


@lru_cache(maxsize=32768)
def _words(text: str) -> tuple[str, ...]:
    # Cached: search values and the non-ASCII strings of resources (displays, names) recur.
    return tuple(_short(dict.fromkeys(_all_words(text))))


def _all_words(text: str) -> list[str]:
    """Every folded word of ``text`` in order, repeats and long words included."""
    if text.isascii():
        return text.encode().translate(_ASCII_WORD_BYTES).decode().split()
    return _WORD.findall(fold(text))


def _short(words: dict[str, None]) -> dict[str, None]:
    """``words`` without those longer than ``MAX_WORD``."""
    if not words or max(map(len, words)) <= MAX_WORD:
        return words
    return {word: None for word in words if len(word) <= MAX_WORD}


def text_values(resource: dict[str, Any]) -> tuple[TextValue, ...]:
    """The ``_text`` row (when there is a narrative) and the ``_content`` row."""
    narrative = _narrative_words(resource)
    content = _short(dict.fromkeys(_content_words(_content_strings(resource))))
    content.update(dict.fromkeys(narrative))
    rows = []
    if narrative:
        rows.append(TextValue(NARRATIVE, _row_words(narrative)))
    if content:
        rows.append(TextValue(CONTENT, _row_words(content)))
    return tuple(rows)


def _row_words(words: list[str] | dict[str, None]) -> str:
    """The row's ``words``: at most ``MAX_WORDS`` (copied to be cut only when more)."""
    return " ".join(words if len(words) <= MAX_WORDS else list(words)[:MAX_WORDS])


def _content_words(strings: list[str]) -> list[str]:
    """The words of ``strings`` in order: the ASCII ones in one pass over their join (a
    space between two strings: no word spans them), the others one by one, cached."""
    joined = " ".join(strings)
    if joined.isascii():
        return _all_words(joined)
    words: list[str] = []
    start = 0
    for end, string in enumerate(strings):
        if not string.isascii():
            words += _all_words(" ".join(strings[start:end]))
            words += _words(string)
            start = end + 1
    words += _all_words(" ".join(strings[start:]))
    return words


def _narrative_words(resource: dict[str, Any]) -> list[str]:
    text = resource.get("text")
    div = text.get("div") if isinstance(text, dict) else None
    if not isinstance(div, str) or not div:
        return []
    reader = _NarrativeText()
    try:
        reader.feed(div)
        reader.close()
    except (AssertionError, ValueError):  # html.parser on badly broken markup
        pass
    # not cached: a narrative is seldom another resource's
    return list(_short(dict.fromkeys(_all_words(" ".join(reader.parts)))))


def _skipped(key: str) -> bool:
    return key in _SKIPPED_KEYS or key.endswith(("Uri", "Url", "Canonical"))


# whether a key's value is content (not `_skipped`), by key: a resource's keys are a few
# dozen names that recur in every resource, looked up once each per string value
_KEPT: dict[str, bool] = {}
_KEPT_MAX = 4096  # keys are the client's: a bound, beyond which they are just tested


def _kept(key: str) -> bool:
    kept = not _skipped(key)
    if len(_KEPT) < _KEPT_MAX:
        _KEPT[key] = kept
    return kept


def _content_strings(resource: dict[str, Any]) -> list[str]:
    """The string values of ``resource`` whose words are content, in document order."""
    out: list[str] = []
    if "text" in resource:  # the narrative: its words only (`_narrative_words`)
        resource = {key: value for key, value in resource.items() if key != "text"}
    _dict_strings(resource, out)
    return out


# The walk is a function per container kind that dispatches on the exact type of each
# value (parsed JSON has no subclasses; they take `_subclass_strings`): it was a third of
# a small resource's words, and `isinstance` per value most of it.


def _dict_strings(value: dict[str, Any], out: list[str]) -> None:
    kept_by_key = _KEPT
    for key, item in value.items():
        kept = kept_by_key.get(key)
        if not (_kept(key) if kept is None else kept):
            continue
        kind = type(item)
        if kind is str:
            out.append(item)
        elif kind is dict:
            _dict_strings(item, out)
        elif kind is list:
            _list_strings(item, out)
        elif isinstance(item, str | dict | list):
            _subclass_strings(item, out)


def _list_strings(value: list[Any], out: list[str]) -> None:
    for item in value:
        kind = type(item)
        if kind is str:
            out.append(item)
        elif kind is dict:
            _dict_strings(item, out)
        elif kind is list:
            _list_strings(item, out)
        elif isinstance(item, str | dict | list):
            _subclass_strings(item, out)


def _subclass_strings(value: str | dict[str, Any] | list[Any], out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        _dict_strings(value, out)
    else:
        _list_strings(value, out)


class _NarrativeText(HTMLParser):
    """Character data of an XHTML fragment (entities resolved), without tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        self.parts.append(" ")  # <p>a</p><p>b</p> are two words, not "ab"

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and self._skipping:
            self._skipping -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)
