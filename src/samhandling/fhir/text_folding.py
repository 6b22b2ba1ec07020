"""Text folding for string search: the one normal form used for all string matching.

``fold(s)`` is applied to every indexed string value at write time and to every string search
term at query time; the folded value is stored, so SQLite and PostgreSQL compare the same
precomputed text and no database collation or ``unaccent`` extension is involved.

The rules, in order:

1. NFKD and ``str.casefold()`` (full Unicode case folding: ``Ø`` -> ``ø``, ``ß`` -> ``ss``);
2. letters that Unicode does **not** decompose are mapped deliberately (see ``_LETTERS``):
   ``ø`` -> ``o``, ``æ`` -> ``ae``, ``œ`` -> ``oe``, ``đ``/``ð`` -> ``d``, ``ł`` -> ``l``,
   ``þ`` -> ``th``, dotless ``ı`` -> ``i``;
3. NFKD decomposition, then every combining mark is dropped, so ``å`` -> ``a``, ``ü`` -> ``u``,
   ``é`` -> ``e`` and compatibility forms such as the ligature ``ﬁ`` become ``fi``.

FHIR R4 (§3.1.1.4.7) says string search is case- and accent-insensitive, and the Norwegian
requirement is that ``ødegard`` finds "Ødegård". NFKD alone decomposes ``å`` but not ``ø`` or
``æ``, hence rule 2. Consequences, accepted deliberately:

* ``o`` finds ``ø``, ``ö`` and ``ó`` alike; ``a`` finds ``å``, ``ä`` and ``á``;
* ``ae`` finds ``æ`` and ``Aerø`` finds "Ærø" (and vice versa: ``ærø`` finds "Aero");
* the old Norwegian spelling ``aa`` is *not* equated with ``å`` ("Aasen" and "Åsen" fold to
  ``aasen`` and ``asen``), since doing so would make every ``aa`` ambiguous;
* whitespace and punctuation are kept as they are.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["fold"]

_LETTERS = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "þ": "th",
        "ı": "i",
    }
)


@lru_cache(maxsize=32768)
def fold(text: str) -> str:
    """Case-insensitive, accent-free form of ``text`` for string index and search matching."""
    if text.isascii():
        return text.lower()
    # NFKD before case folding too: compatibility forms such as "𝕬" decompose to "A"
    folded = unicodedata.normalize("NFKD", text).casefold().translate(_LETTERS)
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in folded if not unicodedata.combining(ch))
