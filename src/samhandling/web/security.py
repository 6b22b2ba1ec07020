"""The web views' defences: cookie flags, security headers, forms with CSRF tokens.

* Cookies are `HttpOnly`, `SameSite=Lax`, `Path=/` and `Secure` with the `__Host-` prefix;
  plain http is allowed only when the public URL is on the loopback interface (a developer's
  `./dev serve`), where browsers cannot send Secure cookies to 127.0.0.1.
* Every page: a Content-Security-Policy without inline scripts or styles (there are no
  scripts at all), no framing, no referrer, no caching of health information.
* Every POST form carries the session's CSRF token; a missing or wrong one is refused with
  403 before anything else happens. Form bodies are url-encoded, at most 64 KiB.
"""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import Response

MAX_FORM_BYTES = 64 * 1024
CSRF_FIELD = "csrf_token"


class FormRefused(Exception):
    """A form that is not accepted: `status` 400 (malformed) or 403 (CSRF)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def secure_cookies(public_root: str) -> bool:
    """Secure cookies unless the server is plain http on loopback (development)."""
    return urlsplit(public_root).scheme == "https" or not is_loopback(public_root)


def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    """No scripts, no inline styles, no framing; forms post only to us (and the provider)."""
    targets = " ".join(("'self'", *form_targets))
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
    )


def harden(response: Response, policy: str) -> Response:
    """The security headers of every page."""
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


class Cookies:
    """Names and flags of the web views' cookies."""

    def __init__(self, secure: bool) -> None:
        self.secure = secure
        prefix = "__Host-" if secure else ""
        self.session = prefix + "samhandling-session"
        self.login = prefix + "samhandling-login"
        self.language = prefix + "samhandling-lang"

    def set(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", secure=self.secure, httponly=True, samesite="lax")


async def read_form(request: Request) -> dict[str, str]:
    """A url-encoded form body (each field once), at most 64 KiB."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            raise FormRefused(400, "the form is too large")
    if not raw:
        return {}  # no fields at all (then no CSRF token either: 403 from the caller)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormRefused(400, "a url-encoded form is expected")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise FormRefused(400, "the form is not UTF-8") from exc
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields or "\x00" in value:
            raise FormRefused(400, "a field is repeated or holds a NUL character")
        fields[key] = value
    return fields


def local_path(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site (a path, never `//host` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
