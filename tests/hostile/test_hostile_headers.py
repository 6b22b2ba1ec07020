"""Hostile headers: Authorization (schemes, forged JWTs), DPoP, If-Match, If-None-Exist,
If-None-Match, Prefer, Content-Type and Accept on reads and writes."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from hostilekit import SEEDS, check, dumps, header_values, hostile, json_values
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient


def _segment(value: Any) -> str:
    return base64.urlsafe_b64encode(dumps(value)).rstrip(b"=").decode()


# Tokens that look like JWTs: random headers (alg none, HS256 with the issuer's key id,
# huge kid) and claims, with or without a signature part.
forged_tokens = st.builds(
    lambda header, claims, signature: f"{_segment(header)}.{_segment(claims)}.{signature}",
    st.fixed_dictionaries({"alg": st.sampled_from(["none", "HS256", "RS256", "ES256", "x"])})
    | json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "iss": st.sampled_from(["http://testserver/dev-issuer", ""]),
            "exp": st.integers(-(2**70), 2**70),
            "iat": st.integers(-(2**70), 2**70),
            "cnf": json_values,
            "scope": header_values,
            "acts_for": json_values,
        },
    )
    | json_values,
    st.sampled_from(["", "x", "AAAA"]),
)
SCHEMES = ["Bearer", "DPoP", "bearer", "Basic", "Bearer  ", "", "Negotiate"]
authorizations = st.builds(
    lambda scheme, token: f"{scheme} {token}".strip(),
    st.sampled_from(SCHEMES),
    forged_tokens | header_values,
)
MEDIA = ["application/fhir+json", "application/json", "application/fhir+xml", "text/html",
         "*/*", "application/*", "", "application/fhir+json; charset=latin1",
         "application/fhir+json; fhirVersion=3.0", "multipart/form-data; boundary=x",
         "application/x-www-form-urlencoded", "application/json-patch+json"]  # fmt: skip
PREFER = ["return=minimal", "return=representation", "return=OperationOutcome",
          "handling=strict", "handling=lenient", "respond-async", "return=", ";;;"]  # fmt: skip
IF_NONE_EXIST = ["identifier=x", "_id=p1", "name=Berg", "", "&", "=", "nope=1",
                 "identifier=urn:oid:2.16.578.1.12.4.1.4.1|", "_count=0", "_has:x:y=1"]  # fmt: skip
headers = st.fixed_dictionaries(
    {},
    optional={
        "If-Match": header_values,
        "If-None-Match": header_values,
        "If-None-Exist": st.sampled_from(IF_NONE_EXIST) | header_values,
        "If-Modified-Since": header_values,
        "Prefer": st.sampled_from(PREFER) | header_values,
        "Content-Type": st.sampled_from(MEDIA) | header_values,
        "Accept": st.sampled_from(MEDIA) | header_values,
        "DPoP": forged_tokens | header_values,
        "X-Forwarded-For": header_values,
    },
)
REQUESTS = [("GET", "/fhir/Patient/p1"), ("GET", "/fhir/Patient?name=Berg"),
            ("POST", "/fhir/Patient"), ("PUT", "/fhir/Patient/p1"), ("DELETE", "/fhir/Patient/x"),
            ("PATCH", "/fhir/Patient/p1"), ("GET", "/fhir/metadata"), ("POST", "/fhir"),
            ("PUT", "/fhir/Patient?name=Berg"), ("DELETE", "/fhir/Patient?name=nobody"),
            ("GET", "/fhir/Patient/p1/_history/1"), ("GET", "/fhir/AuditEvent")]  # fmt: skip
BODY = orjson.dumps(SEEDS[0])


@hostile
@given(request=st.sampled_from(REQUESTS), extra=headers, authorization=st.none() | authorizations)
def test_random_headers(
    client: TestClient,
    request: tuple[str, str],
    extra: dict[str, str],
    authorization: str | None,
) -> None:
    method, url = request
    sent = {"Content-Type": "application/fhir+json", **extra}
    if authorization is not None:
        sent["Authorization"] = authorization
    body = BODY if method in ("POST", "PUT") else None
    if method == "PATCH":
        body = b'[{"op":"replace","path":"/gender","value":"female"}]'
    check(lambda: client.request(method, url, content=body, headers=sent))
