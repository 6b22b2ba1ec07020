"""The producers' ConceptMaps are searched once per transaction, again after one is
written in it (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from samhandling.interactions import crud
from samhandling.interactions.transactions import VersionWriter, write_transaction
from samhandling.services import default_platform
from samhandling.services.document_sharing import concept_maps
from samhandling.services.document_sharing.concept_maps import active_maps

LOCAL = "urn:oid:2.16.578.1.12.4.1.7.991000046.1"
VOLVEN = "urn:oid:2.16.578.1.12.4.1.1.9602"
RULES = default_platform().write_rules


def concept_map(name: str) -> dict[str, Any]:
    return {
        "resourceType": "ConceptMap",
        "url": f"https://fjordbyen.example/fhir/ConceptMap/{name}",
        "status": "active",
        "group": [{
            "source": LOCAL,
            "target": VOLVEN,
            "element": [{"code": "EPI", "target": [{"code": "A03-2", "equivalence": "equal"}]}],
        }],
    }  # fmt: skip


def urls(found: list[dict[str, Any]]) -> list[str]:
    return sorted(m["url"].rsplit("/", 1)[1] for m in found)


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []
    real = concept_maps.search

    def counted(*args: Any) -> Any:
        made.append(args[1])
        return real(*args)

    monkeypatch.setattr(concept_maps, "search", counted)
    return made


def test_searched_once_per_transaction(engine: Engine, searches: list[str]) -> None:
    with write_transaction(engine) as connection:
        crud.create(VersionWriter(connection, rules=RULES), concept_map("a"))
    for _ in range(2):
        with write_transaction(engine) as connection:
            assert urls(active_maps(connection, LOCAL, VOLVEN)) == ["a"]
            assert urls(active_maps(connection, LOCAL, VOLVEN)) == ["a"]
    assert searches == ["ConceptMap", "ConceptMap"]  # once in each transaction


def test_a_map_written_in_the_transaction_is_found(engine: Engine, searches: list[str]) -> None:
    with write_transaction(engine) as connection:
        writer = VersionWriter(connection, rules=RULES)
        assert active_maps(connection, LOCAL, VOLVEN) == []
        created = crud.create(writer, concept_map("b"))
        assert urls(active_maps(connection, LOCAL, VOLVEN)) == ["b"]
        crud.delete(writer, "ConceptMap", created.version.resource_id)
        assert active_maps(connection, LOCAL, VOLVEN) == []
    assert len(searches) == 3
