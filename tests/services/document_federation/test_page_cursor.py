"""The sealed cursor of a federated answer's next page: opaque, unalterable, for one
consumer, expiring."""

from __future__ import annotations

import base64

import pytest

from samhandling.auth import Principal, parse_scopes
from samhandling.auth.principal import ClientInfo
from samhandling.fhir.outcome import FhirError
from samhandling.services.document_federation.page_cursor import (
    PAGE_LIFETIME,
    FederatedPage,
    PageSeal,
)

FNR = "05858540072"
KEY = bytes(range(32))
NOW = 1_800_000_000.0


def person(pid: str = "12837510110", client: str = "ehr", subject: str = "s") -> Principal:
    return Principal(
        kind="clinician",
        issuer="https://helseid.test",
        subject=subject,
        pid=pid,
        client=ClientInfo(client_id=client),
        scopes=parse_scopes("user/*.rs"),
    )


def page() -> FederatedPage:
    by_patient = ("patient.identifier", f"urn:oid:2.16.578.1.12.4.1.4.1|{FNR}")
    return FederatedPage(
        resource_type="DocumentReference",
        search=[by_patient, ("_count", "3")],
        local=[("_after", "17")],
        peers={"area-a": f"https://a.test/fhir/DocumentReference?_after=9&pid={FNR}"},
        totals={"": 6, "area-a": 7},
        left_out=1,
        listed_here=b"\x01" * 16,
        listed_remote=b"\x02" * 8,
    )


def test_a_sealed_page_opens_again_for_its_consumer() -> None:
    seal = PageSeal(KEY)
    cursor = seal.seal(page(), person(), NOW)
    assert seal.open(cursor, person(), NOW + PAGE_LIFETIME - 1) == page()


def test_the_cursor_does_not_show_the_national_id() -> None:
    cursor = PageSeal(KEY).seal(page(), person(), NOW)
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert FNR not in cursor and FNR.encode() not in raw and b"area-a" not in raw


def refused(cursor: str, principal: Principal, now: float = NOW, key: bytes = KEY) -> int:
    with pytest.raises(FhirError) as failure:
        PageSeal(key).open(cursor, principal, now)
    return failure.value.status


B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_any_altered_character_is_a_400() -> None:
    cursor = PageSeal(KEY).seal(page(), person(), NOW)
    for at in (0, len(cursor) // 2, len(cursor) - 1):
        # flip the top bit of the character's six: a base64 tail's low bits may be padding,
        # so "any other letter" could decode to the same bytes
        flipped = B64URL[B64URL.index(cursor[at]) ^ 0b100000]
        assert refused(cursor[:at] + flipped + cursor[at + 1 :], person()) == 400
    assert refused(cursor[:-4], person()) == 400
    assert refused("not-a-cursor", person()) == 400
    assert refused("é" * 10, person()) == 400
    assert refused("A" * 9000, person()) == 400
    assert refused(cursor, person(), key=bytes(32)) == 400  # another gateway's key


def test_another_consumer_is_refused_with_403() -> None:
    cursor = PageSeal(KEY).seal(page(), person(), NOW)
    assert refused(cursor, person(pid="01010112345")) == 403
    assert refused(cursor, person(client="other-app")) == 403
    assert refused(cursor, person(subject="other")) == 403


def test_an_expired_cursor_is_a_410() -> None:
    cursor = PageSeal(KEY).seal(page(), person(), NOW)
    assert refused(cursor, person(), now=NOW + PAGE_LIFETIME + 1) == 410
