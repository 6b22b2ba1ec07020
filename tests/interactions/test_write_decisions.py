"""The policy's decisions on a write governed by a rule (interactions/crud.py `_checked`):
the guard decides on the previous and the new content once, ahead of the rules (403 before
a rule's verdict); the store does not decide again unless a rule amended the resource, and
then decides on the amended content. The previous version's JSON is parsed once."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from samhandling.access_guard import OpenAccess
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import crud
from samhandling.interactions.write_rules import WriteContext
from samhandling.store.database import read_connection, write_connection
from samhandling.store.records import StoredVersion
from samhandling.store.version_writer import VersionWriter

Decided = tuple[str, dict[str, Any] | None, dict[str, Any] | None]


class RecordingGuard(OpenAccess):
    """Inspects resources: records what it was asked to decide; refuses `refused` content."""

    inspects_resources = True

    def __init__(self, refused: Callable[[dict[str, Any]], bool] = lambda _r: False) -> None:
        self.asked: list[Decided] = []
        self.refused = refused

    def check_write(
        self, interaction: str, previous: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        self.asked.append((interaction, copy.deepcopy(previous), copy.deepcopy(new)))
        for resource in (previous, new):
            if resource is not None and self.refused(resource):
                raise FhirError(403, error("forbidden", "Access denied: refused"))


class Rule:
    """A rule for Basic resources doing `amend(context)` (or nothing)."""

    def __init__(self, amend: Callable[[WriteContext], None] = lambda _c: None) -> None:
        self.amend = amend

    def applies(self, context: WriteContext) -> bool:
        return context.resource_type == "Basic" and context.new is not None

    def check(self, context: WriteContext) -> None:
        self.amend(context)


def _tag(context: WriteContext) -> None:
    assert context.new is not None
    context.new.setdefault("meta", {})["tag"] = [{"system": "urn:rule", "code": "stamped"}]


def _replace(context: WriteContext) -> None:
    assert context.new is not None
    context.new = {**context.new, "language": "nb"}


def _refuse(_context: WriteContext) -> None:
    raise FhirError(422, error("business-rule", "the rule refuses"))


BASIC = {"resourceType": "Basic", "code": {"text": "a"}}


def _write(
    engine: Engine, guard: RecordingGuard, rules: list[Rule], action: Callable[..., Any]
) -> Any:
    with write_connection(engine) as connection:
        return action(VersionWriter(connection, guard, rules))


def _stored(engine: Engine, rid: str) -> StoredVersion | None:
    with read_connection(engine) as connection:
        return VersionWriter(connection).current("Basic", rid)


def _created(engine: Engine) -> str:
    result = _write(engine, RecordingGuard(), [], lambda w: crud.create(w, dict(BASIC)))
    return str(result.version.resource_id)


def _update(rid: str, text: str) -> Callable[[VersionWriter], Any]:
    return lambda w: crud.update(w, "Basic", rid, {**BASIC, "id": rid, "code": {"text": text}})


def test_a_governed_update_the_rules_leave_as_it_is_is_decided_once(engine: Engine) -> None:
    rid = _created(engine)
    guard = RecordingGuard()
    _write(engine, guard, [Rule()], _update(rid, "b"))
    assert [(m, p and p["code"], n and n["code"]) for m, p, n in guard.asked] == [
        ("update", {"text": "a"}, {"text": "b"})
    ]


def test_an_ungoverned_update_is_decided_by_the_store(engine: Engine) -> None:
    rid = _created(engine)
    guard = RecordingGuard()
    _write(engine, guard, [], _update(rid, "b"))
    assert [(m, p and p["code"], n and n["code"]) for m, p, n in guard.asked] == [
        ("update", {"text": "a"}, {"text": "b"})
    ]


@pytest.mark.parametrize("amend", [_tag, _replace], ids=["in-place", "replaced"])
def test_a_rule_that_amends_the_resource_gets_the_policys_second_decision(
    engine: Engine, amend: Callable[[WriteContext], None]
) -> None:
    rid = _created(engine)
    guard = RecordingGuard()
    _write(engine, guard, [Rule(amend)], _update(rid, "b"))
    assert len(guard.asked) == 2
    assert guard.asked[1][1] is None  # the previous content was decided the first time
    stored = _stored(engine, rid)
    assert stored is not None
    amended = guard.asked[1][2]
    assert amended is not None
    assert {k: v for k, v in stored.resource().items() if k != "meta"} == {
        k: v for k, v in amended.items() if k != "meta"
    }


def test_an_amended_resource_the_policy_refuses_is_403_and_not_written(engine: Engine) -> None:
    rid = _created(engine)
    guard = RecordingGuard(refused=lambda r: "tag" in r.get("meta", {}))
    with pytest.raises(FhirError) as refused:
        _write(engine, guard, [Rule(_tag)], _update(rid, "b"))
    assert refused.value.status == 403
    stored = _stored(engine, rid)
    assert stored is not None and stored.version_id == 1


def test_a_refused_caller_hears_403_before_a_rules_verdict(engine: Engine) -> None:
    rid = _created(engine)
    guard = RecordingGuard(refused=lambda r: r["code"]["text"] == "a")
    with pytest.raises(FhirError) as refused:
        _write(engine, guard, [Rule(_refuse)], _update(rid, "b"))
    assert refused.value.status == 403


def test_a_governed_create_is_decided_once(engine: Engine) -> None:
    guard = RecordingGuard()
    _write(engine, guard, [Rule()], lambda w: crud.create(w, dict(BASIC)))
    assert [(m, p, n and n["code"]) for m, p, n in guard.asked] == [("create", None, {"text": "a"})]


@pytest.mark.parametrize("rules", [[], [Rule()]], ids=["ungoverned", "governed"])
def test_an_update_and_a_delete_parse_the_previous_version_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, rules: list[Rule]
) -> None:
    rid = _created(engine)
    parsed: list[str] = []
    original = StoredVersion.resource

    def counted(version: StoredVersion) -> dict[str, Any]:
        parsed.append(version.resource_id)
        return original(version)

    monkeypatch.setattr(StoredVersion, "resource", counted)
    _write(engine, RecordingGuard(), list(rules), _update(rid, "b"))
    assert parsed == [rid]
    parsed.clear()
    _write(engine, RecordingGuard(), list(rules), lambda w: crud.delete(w, "Basic", rid))
    assert parsed == [rid]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text("ab", max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("xyz", max_size=2), inner),
    max_leaves=6,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    change=st.dictionaries(st.sampled_from(["extra", "other"]), _JSON),
    replace=st.booleans(),
)
def test_the_content_stored_is_always_content_the_policy_decided_on(
    engine: Engine, change: dict[str, Any], replace: bool
) -> None:
    """Whatever a rule does to the resource (nothing, an in-place change, a new dict), the
    guard's last decision on the new content was on the content the store writes."""

    def amend(context: WriteContext) -> None:
        assert context.new is not None
        if replace:
            context.new = {**context.new, **change}
        else:
            context.new.update(change)

    guard = RecordingGuard()
    result = _write(engine, guard, [Rule(amend)], lambda w: crud.create(w, dict(BASIC)))
    stored = result.version.resource()
    last = guard.asked[-1][2]
    assert last is not None
    assert {k: v for k, v in stored.items() if k not in ("id", "meta")} == last
    assert len(guard.asked) == (2 if change or replace else 1)
