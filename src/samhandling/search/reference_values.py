"""Matching reference search values (R4 §3.1.1.4.9) against ``index_reference`` rows.

Accepted forms: ``id`` (any target type the parameter allows), ``Type/id``,
``Type/id/_history/v``, an absolute URL on this server's base (treated as relative), any
other absolute URL or canonical (``url[|version]``, matched by url), and with a ``:Type``
modifier an ``id``. References stored as absolute URLs of this server's own base match the
relative forms too.
"""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from samhandling.fhir.indexing.references import parse_canonical, parse_reference
from samhandling.search.conditions import Columns
from samhandling.search.values import unescape

Condition = ColumnElement[bool]


def reference(c: Columns, modifier: str | None, value: str, base_url: str | None) -> Condition:
    text = unescape(value)
    if base_url and text.startswith(base_url.rstrip("/") + "/"):
        text = text[len(base_url.rstrip("/")) + 1 :]
    type_modifier = modifier if modifier and modifier[:1].isupper() else None
    if "/" not in text:
        return _local(c, type_modifier, text, None, base_url)
    if "://" in text or text.startswith("urn:"):
        return _absolute(c, text)
    parsed = parse_reference(text)
    if parsed is None or parsed.target_id is None or parsed.url is not None:
        return c.url == text
    if type_modifier and parsed.target_type != type_modifier:
        return and_(c.target_id.is_(None), c.target_id.isnot(None))  # never
    return _local(c, parsed.target_type, parsed.target_id, parsed.version, base_url)


def _local(
    c: Columns, target_type: str | None, target_id: str, version: str | None, base: str | None
) -> Condition:
    conditions = [c.target_id == target_id]
    if target_type:
        conditions.append(c.target_type == target_type)
        local = [c.url.is_(None)]
        if base:
            local.append(c.url == f"{base.rstrip('/')}/{target_type}/{target_id}")
        conditions.append(or_(*local))
    else:
        conditions.append(c.url.is_(None))
    if version:
        conditions.append(c.target_version == version)
    return and_(*conditions)


def _absolute(c: Columns, text: str) -> Condition:
    parsed = parse_canonical(text) if "|" in text else parse_reference(text)
    if parsed is None or parsed.url is None:
        return c.url == text
    conditions = [c.url == parsed.url]
    if parsed.version:
        conditions.append(c.target_version == parsed.version)
    return and_(*conditions)
