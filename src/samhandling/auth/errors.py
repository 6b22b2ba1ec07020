"""Authentication and authorisation errors, with the `WWW-Authenticate` challenge.

`AuthError` carries the HTTP status (401 for a missing or bad token or DPoP proof, 403 for
a policy denial, 503 when the issuer's keys cannot be fetched), an OAuth error code and a
description that is safe to show and log: it never contains a token, a proof or a national
ID number. The challenge follows RFC 6750 §3 (Bearer) and RFC 9449 §7.1 (DPoP).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from samhandling.fhir.outcome import Issue, operation_outcome

DEFAULT_REALM = "samhandling"
DPOP_ALGS = ("ES256", "PS256", "RS256")

_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')


def _quote(value: str) -> str:
    """A quoted-string value with quotes, backslashes and control characters removed."""
    return '"' + _UNSAFE.sub("", value)[:300] + '"'


def challenge(
    scheme: str,
    *,
    realm: str = DEFAULT_REALM,
    error: str | None = None,
    description: str | None = None,
    algs: Iterable[str] = DPOP_ALGS,
) -> str:
    """One challenge, e.g. `Bearer realm="samhandling", error="invalid_token", ...`."""
    params = [f"realm={_quote(realm)}"]
    if scheme == "DPoP":
        params.append(f"algs={_quote(' '.join(algs))}")
    if error:
        params.append(f"error={_quote(error)}")
        if description:
            params.append(f"error_description={_quote(description)}")
    return f"{scheme} " + ", ".join(params)


def www_authenticate(
    schemes: Iterable[str],
    *,
    error: str | None = None,
    description: str | None = None,
    error_scheme: str | None = None,
    realm: str = DEFAULT_REALM,
) -> str:
    """The header value: one challenge per accepted scheme; the error goes on `error_scheme`
    (or on every scheme when it is None)."""
    parts = []
    for scheme in schemes:
        carries = error is not None and error_scheme in (None, scheme)
        parts.append(
            challenge(
                scheme,
                realm=realm,
                error=error if carries else None,
                description=description if carries else None,
            )
        )
    return ", ".join(parts)


class AuthError(Exception):
    """A refused request: status 401/403/503, OAuth error code, safe description."""

    def __init__(
        self,
        status: int,
        description: str = "authentication required",
        *,
        error: str | None = "invalid_token",
        www_authenticate: str | None = None,
        issue_code: str | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.error = error
        self.www_authenticate = www_authenticate
        self.issue_code = issue_code or _default_issue_code(status)

    @property
    def headers(self) -> dict[str, str]:
        """Response headers to send with the error."""
        return {"WWW-Authenticate": self.www_authenticate} if self.www_authenticate else {}

    def outcome(self) -> dict[str, Any]:
        """The FHIR OperationOutcome body for this error."""
        return operation_outcome([Issue("error", self.issue_code, self.description)])

    def __repr__(self) -> str:
        return f"AuthError({self.status}, {self.error!r}, {self.description!r})"


def _default_issue_code(status: int) -> str:
    return {401: "login", 403: "forbidden", 503: "transient"}.get(status, "security")


def forbidden(reason: str) -> AuthError:
    """A 403 for a policy denial (the reason is the Decision's, safe to show)."""
    return AuthError(403, reason, error="insufficient_scope", issue_code="forbidden")
