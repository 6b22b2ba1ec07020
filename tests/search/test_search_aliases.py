"""Pooled table aliases (search/aliases.py): the same SQL as fresh aliases, never one alias
twice in a statement, and the caller's restriction always built anew into the statement."""

from __future__ import annotations

from urllib.parse import parse_qsl

from sqlalchemy.dialects import postgresql

from samhandling.search import aliases
from samhandling.search.query import parse_search
from samhandling.search.restriction import SearchRestriction
from samhandling.search.sql import SearchSql
from samhandling.store.schema import index_token

BASE = "http://example.org/fhir"


def sql(query: str, restriction: SearchRestriction | None = None) -> str:
    parsed = parse_search("Observation", parse_qsl(query), base_url=BASE)
    stmt = SearchSql(restriction=restriction, base_url=BASE).ordered(parsed)
    compiled = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return str(compiled)


def test_a_builder_takes_each_pooled_alias_once() -> None:
    taken = aliases.TableAliases()
    first, second = taken.take(index_token), taken.take(index_token)
    assert first is not second
    assert aliases.TableAliases().take(index_token) is first  # the next builder reuses it


def test_beyond_the_pool_aliases_are_fresh() -> None:
    taken = aliases.TableAliases()
    pooled = [taken.take(index_token) for _ in range(aliases.MAX_POOLED)]
    extra = [taken.take(index_token) for _ in range(3)]
    assert len({id(a) for a in pooled + extra}) == aliases.MAX_POOLED + 3
    assert len(aliases._pool[index_token]) == aliases.MAX_POOLED


def test_criteria_on_one_table_get_distinct_aliases() -> None:
    text = sql("code=8480-6&category=vital-signs&status=final")
    assert "index_token AS index_token_1" in text
    assert "index_token AS index_token_2" in text
    assert "index_token AS index_token_3" in text


def test_many_criteria_past_the_pool_still_distinct() -> None:
    codes = "&".join(f"code=c{i}" for i in range(aliases.MAX_POOLED + 5))
    text = sql(codes)
    for i in range(1, aliases.MAX_POOLED + 6):
        assert f"index_token AS index_token_{i} " in text
    assert f"index_token AS index_token_{aliases.MAX_POOLED + 6} " not in text


def test_repeated_builds_give_the_same_sql() -> None:
    query = "subject=Patient/p1&code=http://loinc.org|8480-6&date=ge2024-01-01"
    assert sql(query) == sql(query)


def test_a_restriction_is_never_carried_to_another_caller() -> None:
    query = "code=8480-6&category=vital-signs"
    mine = sql(query, SearchRestriction(patient_ids=frozenset({"p-mine"})))
    theirs = sql(query, SearchRestriction(patient_ids=frozenset({"p-theirs"})))
    unrestricted = sql(query)
    assert "'p-mine'" in mine and "'p-theirs'" not in mine
    assert "'p-theirs'" in theirs and "'p-mine'" not in theirs
    assert "p-mine" not in unrestricted and "p-theirs" not in unrestricted
    assert "compartment" not in unrestricted


def test_a_probed_parameter_is_made_once_per_alias() -> None:
    from samhandling.search.conditions import param_of

    taken = aliases.TableAliases()
    first, second = taken.take(index_token), taken.take(index_token)
    assert param_of(first, True) is param_of(first, True)
    assert param_of(first, True) is not param_of(second, True)
    assert param_of(first, False) is first.c.param
    rendered = str(param_of(first, True).compile(dialect=postgresql.dialect()))
    assert rendered.endswith("param || ''")


def test_parameter_rows_are_made_once_per_alias_and_registry_generation() -> None:
    from samhandling.fhir.search_parameters import default_registry
    from samhandling.search.derived_rows import pooled_param_rows

    registry = default_registry()
    alias = aliases.TableAliases().take(index_token)
    args = (alias, "Observation", "code", "", True, registry)
    first = pooled_param_rows(*args, registry.generation)
    assert pooled_param_rows(*args, registry.generation) is first
    # a registered custom parameter bumps the generation: the rows are made anew
    assert pooled_param_rows(*args, registry.generation + 1) is not first
    other = aliases.TableAliases()
    other.take(index_token)
    assert pooled_param_rows(other.take(index_token), *args[1:], registry.generation) is not first
