"""Full-text matching of `_text` and `_content` on the databases' own engines.

A search value is cut into words exactly as the indexed text was (``fhir/indexing/text.py``):
folded runs of letters and digits; everything else (quotes, ``*``, ``-``, ``:``, ``NEAR(``,
``OR``'s parentheses) separates words and is never passed on as query syntax. Every word of
a value must occur (AND); the values of a comma-separated list are OR-ed (R4 §3.1.1.5.x).
A word matches an indexed word that *starts with* it, so ``hjerte`` finds "Hjertesvikt" and
``pasient`` finds "pasienten" (a cheap stand-in for stemming; see docs/SEARCH.md).

* PostgreSQL: ``words @@ CAST(:q AS tsquery)`` with ``q = 'w1':* & 'w2':*`` (GIN index);
* SQLite: ``rowid IN (SELECT rowid FROM index_text_fts WHERE index_text_fts MATCH :q)``
  with ``q = "w1"* AND "w2"*`` (FTS5, ``ascii`` tokenizer; the index row's rowid is its
  ``row_id``, a column SQLite's tables alone have).

Both query strings are built from words that contain only letters and digits, quoted, and
passed as bound parameters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType

from samhandling.fhir.indexing.text import words_of
from samhandling.fhir.outcome import FhirError, error
from samhandling.search.values import unescape

MAX_QUERY_WORDS = 16


def query_words(code: str, value: str) -> list[str]:
    """The words of one search value; 400 when it has none or too many."""
    words = words_of(unescape(value))
    if not words:
        raise FhirError(
            400, error("invalid", f"{code}: '{value}' contains no word to search", code)
        )
    if len(words) > MAX_QUERY_WORDS:
        message = f"{code}: at most {MAX_QUERY_WORDS} words per value"
        raise FhirError(400, error("too-costly", message, code))
    return words


class TextMatch(ColumnElement[bool]):
    """The index row ``rows`` (an ``index_text`` alias) has every word, as a word prefix."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012 (SQLAlchemy's own form)
        ("words_column", InternalTraversal.dp_clauseelement),
        ("tsquery", InternalTraversal.dp_clauseelement),
        ("fts_query", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, rows: Any, words: list[str]) -> None:
        self.words_column = rows.words
        self.tsquery: BindParameter[str] = bindparam(
            None, " & ".join(f"'{w}':*" for w in words), unique=True
        )
        self.fts_query: BindParameter[str] = bindparam(
            None, " AND ".join(f'"{w}"*' for w in words), unique=True
        )


@compiles(TextMatch)
def _postgresql(element: TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.words_column, **kw)
    return f"({column} @@ CAST({compiler.process(element.tsquery, **kw)} AS tsquery))"


@compiles(TextMatch, "sqlite")
def _sqlite(element: TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    alias, dot, _ = compiler.process(element.words_column, **kw).rpartition(".")
    row_id = f"{alias}{dot}rowid"  # the index row's own (`row_id` is its alias)
    query = compiler.process(element.fts_query, **kw)
    return f"({row_id} IN (SELECT rowid FROM index_text_fts WHERE index_text_fts MATCH {query}))"


def text_condition(c: Any, code: str, value: str) -> ColumnElement[bool]:
    """The condition on an ``index_text`` alias's columns ``c`` for one search value."""
    return TextMatch(c, query_words(code, value))
