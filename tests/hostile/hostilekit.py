"""The hostile-input suite's settings, invariants and value strategies.

Every request a hostile client can make must get an answer that is not a 5xx (the
database stays up during the fuzz, so not even 503), within `SECONDS`, and a 4xx must be
an OperationOutcome that leaks no internals. Examples are derived from each test's source
(`derandomize=True`): the normal run is the same every time. A release runs more of them:

    SAMHANDLING_FUZZ_EXAMPLES=5000 SAMHANDLING_REQUIRE_POSTGRES=1 ./dev test tests/hostile
"""

from __future__ import annotations

import json
import os
import string
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from samhandling.auth.dev.personas import persona
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

EXAMPLES = int(os.environ.get("SAMHANDLING_FUZZ_EXAMPLES", "100"))
SECONDS = float(os.environ.get("SAMHANDLING_FUZZ_SECONDS", "2"))
# PostgreSQL cancels any statement of the fuzzed app after this long (a 500, so a failure).
STATEMENT_TIMEOUT_MS = 3000

hostile = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,  # the time bound is checked per request, below
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one app per test, its state grows (wanted)
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

# Generators of costly requests (thousands of parameters, deep nesting, patches that grow):
# each example may take a second, so fewer of them.
costly = settings(hostile, max_examples=max(5, EXAMPLES // 10))


def fuzzed_database(database_url: str) -> str:
    """The URL the fuzzed app uses: on PostgreSQL with a statement timeout, so that a
    runaway query fails the test instead of running on after it."""
    if not database_url.startswith("postgres"):
        return database_url
    return f"{database_url}?options=-c%20statement_timeout%3D{STATEMENT_TIMEOUT_MS}"


LEAKS = ("Traceback", "psycopg", "sqlalchemy", "sqlite3", 'File "')


def check(send: Callable[[], Any], *, allow_503: bool = False) -> Any:
    """Send one request and hold its answer to the invariants; returns the response."""
    response, elapsed = _timed(send)
    if elapsed >= SECONDS:
        # A loaded host (two cores shared by the test workers) can stall any one request for
        # seconds; an input that is costly to answer is slow every time: sent again, it must
        # be answered in time then. (CI once saw a harmless search take 2.1 s, then 0.05 s.)
        response, elapsed = _timed(send)
    request = f"{response.request.method} {str(response.request.url)[:300]}"
    status = response.status_code
    assert status < 500 or (allow_503 and status == 503), (
        f"{status} for {request}: {response.text[:500]}"
    )
    assert elapsed < SECONDS, f"{elapsed:.2f} s for {request}"
    if status >= 400 and response.content:
        body = response.json()
        assert body["resourceType"] == "OperationOutcome", f"{request}: {response.text[:300]}"
        assert not any(leak in response.text for leak in LEAKS), response.text[:500]
    return response


def _timed(send: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    response = send()
    return response, time.perf_counter() - started


def dumps(value: Any) -> bytes:
    """JSON text of anything the strategies make (integers beyond 64 bits included)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False).encode()


# --- values ---------------------------------------------------------------------------

# Text a client can send: any character but surrogates (not UTF-8) and NUL (its own test).
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
tricky_text = st.sampled_from(
    ["", " ", "a" * 300, "é", "Ø", "∞", "\u202e", "%", "%00", "%zz", "\\", "'", '"', ";--", "*",
     "$", "|", ",", ":", "?", "&", "=", "..", "/", "../..", "null", "true", "-0", "1e999",
     "NaN", "12345678901", "Patient/", "Patient/../x", "http://x/Patient/1", "urn:uuid:",
     "<x/>", "${x}", "{{x}}", "%s%n", "\t\n\r", "\u0001", "\ufeff", "0001", "9999-12-31",
     "0000-01-01", "9999-12-31T23:59:59.999999-14:00", "0001-01-01T00:00:00+14:00",
     "2024-02-30", "24:00:00", "1e-400", "1e400", "0.000000000000000000001"]
)  # fmt: skip
huge_numbers = st.sampled_from(
    [2**63, -(2**63) - 1, 2**64, 10**30, -(10**40), 1e308, -1e308, 5e-324, 1.7976931348623157e308]
)
numbers = st.integers() | st.floats(allow_nan=False, allow_infinity=False) | huge_numbers
strings = text | tricky_text
scalars = st.none() | st.booleans() | numbers | strings
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings, inner, max_size=4),
    max_leaves=20,
)
safe_printable = st.text(
    st.sampled_from(string.ascii_letters + string.digits + string.punctuation + " "), max_size=60
)
# (HTTP strips a header value's outer spaces: a client cannot send them)
header_values = (
    safe_printable
    | st.sampled_from(
        ["", "*", '""', 'W/""', 'W/"1"', '"1"', 'W/"99999999999999999999"', "0", "-1", "a" * 2000]
    )
).map(str.strip)

RESOURCE_TYPES = ["Patient", "Observation", "Condition", "Encounter", "Bundle", "AuditEvent",
                  "OperationOutcome", "Binary", "Parameters", "Nope", "patient", ""]  # fmt: skip
resource_types = st.sampled_from(RESOURCE_TYPES)
ids = st.sampled_from(["p1", "o1", "nope", "-", "a" * 65, "1", "%20", "_history", "$x"]) | text

# What the tests aim at (the conftest's app has them).
SEEDS = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": FNR_SYSTEM, "value": persona("citizen").pid}],
        "name": [{"family": "Berg", "given": ["Kari"]}],
        "birthDate": "1972-09-13",
    },
    {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": "Patient/p1"},
        "valueQuantity": {"value": 72.5, "unit": "kg"},
        "effectiveDateTime": "2024-05-01",
    },
]
