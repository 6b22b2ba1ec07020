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
from itertools import chain
from typing import Any

from samhandling.fhir.indexing.rows import TextValue
from samhandling.fhir.text_folding import fold

__all__ = ["CONTENT", "MAX_WORD", "MAX_WORDS", "NARRATIVE", "text_values", "words_of"]

NARRATIVE = "_text"
CONTENT = "_content"
MAX_WORD = 64
MAX_WORDS = 10_000
_WORD = re.compile(r"[^\W_]+")
_SKIPPED_KEYS = frozenset(
    {"resourceType", "id", "reference", "system", "url", "fullUrl", "data", "div", "profile"}
)
_SKIPPED_TAGS = frozenset({"script", "style"})


def words_of(text: str) -> list[str]:
    """The distinct folded words of ``text``, in order of appearance."""
    return list(_words(text))


@lru_cache(maxsize=32768)
def _words(text: str) -> tuple[str, ...]:
    # Cached: most strings of a resource recur in the next one of its kind (status,
    # category, codes, displays, units), and finding words was half of index extraction.
    found = dict.fromkeys(w for w in _WORD.findall(fold(text)) if len(w) <= MAX_WORD)
    return tuple(found)


def text_values(resource: dict[str, Any]) -> tuple[TextValue, ...]:
    """The ``_text`` row (when there is a narrative) and the ``_content`` row."""
    narrative = _narrative_words(resource)
    strings: list[str] = []
    for key, value in resource.items():
        if key != "text" and not _skipped(key):  # the narrative: words only
            _collect_strings(value, strings)
    content = dict.fromkeys(chain.from_iterable(map(_words, strings)))
    content.update(dict.fromkeys(narrative))
    rows = []
    if narrative:
        rows.append(TextValue(NARRATIVE, " ".join(narrative[:MAX_WORDS])))
    if content:
        rows.append(TextValue(CONTENT, " ".join(list(content)[:MAX_WORDS])))
    return tuple(rows)


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
    return words_of(" ".join(reader.parts))


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


def _collect_strings(value: Any, out: list[str]) -> None:
    """Append the string values in `value`, in document order, to `out` (a list, not a
    generator per level: this walk was a third of a small resource's index extraction).
    Only dicts and lists are descended into: a number or a boolean holds no string."""
    if isinstance(value, dict):
        for key, item in value.items():
            kept = _KEPT.get(key)
            if not (_kept(key) if kept is None else kept):
                continue
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict | list):
                _collect_strings(item, out)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict | list):
                _collect_strings(item, out)
    elif isinstance(value, str):
        out.append(value)


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
