"""The web views' plumbing: sessions, the caller of a request, pages and their errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from samhandling.auth import AuthError, Principal
from samhandling.fhir.outcome import FhirError
from samhandling.front_end import FrontEndParts
from samhandling.interactions.web_sessions import SessionRecords
from samhandling.web.access import DataAccess
from samhandling.web.display import when
from samhandling.web.oidc import LoginFailed, OidcClient, dev_provider, discover
from samhandling.web.security import (
    CSRF_FIELD,
    Cookies,
    FormRefused,
    content_security_policy,
    harden,
    read_form,
    secure_cookies,
)
from samhandling.web.sessions import Session, SessionStore, signing_key
from samhandling.web.texts import language, texts

log = logging.getLogger("samhandling.web")
CALLBACK = "/login/callback"
REFRESH_MARGIN = 30
Handler = Callable[[Request], Awaitable[Response]]


class NotLoggedIn(Exception):
    """The request has no live session: the visitor goes to the front page."""


class WebViews:
    """Everything the pages share, for one application."""

    def __init__(self, parts: FrontEndParts) -> None:
        self.parts = parts
        self.data = DataAccess(parts)
        key = signing_key(parts.settings.web_session_key, parts.settings.data_dir)
        self.sessions = SessionStore(SessionRecords(parts.engine), key)
        root = parts.settings.public_root
        self.cookies = Cookies(secure_cookies(root))
        self.redirect_uri = root + CALLBACK
        self._oidc: OidcClient | None = None
        self.pages = Environment(
            loader=PackageLoader("samhandling.web", "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
        )
        self.pages.filters["when"] = when
        if not self.cookies.secure and not root.startswith("http://"):
            log.warning("web views: cookies are not Secure")

    # -- the OpenID provider -------------------------------------------------------------
    def oidc(self) -> OidcClient:
        """The client of the configured provider (discovered at the first login)."""
        if self._oidc is None:
            self._oidc = self._make_client()
        return self._oidc

    def _make_client(self) -> OidcClient:
        settings, dev = self.parts.settings, self.parts.dev_issuer
        if settings.web_oidc_issuer:
            http = httpx.Client(timeout=10)
            return OidcClient(
                discover(settings.web_oidc_issuer, http),
                settings.web_client_id,
                self.redirect_uri,
                secret=settings.web_client_secret or None,
                key_file=settings.web_client_key or None,
                http=http,
            )
        if dev is None:
            raise LoginFailed("no OpenID provider is configured (SAMHANDLING_WEB_OIDC_ISSUER)")
        provider = dev_provider(dev.issuer_url, dev.citizen_issuer_url, dev.jwks())
        secret = dev.web_client_secret()
        return OidcClient(provider, settings.web_client_id, self.redirect_uri, secret=secret)

    # -- the caller ----------------------------------------------------------------------
    async def session(self, request: Request) -> Session | None:
        """The browser's live session (from the database: any node's), or None."""
        reference = self.sessions.unsign(request.cookies.get(self.cookies.session))
        return await run_in_threadpool(self.sessions.get, reference)

    async def keep(self, session: Session) -> None:
        """Store a changed session (new tokens, a declared purpose) for every node."""
        await run_in_threadpool(self.sessions.save, session)

    async def forget(self, session: Session) -> None:
        """End a session on every node."""
        await run_in_threadpool(self.sessions.end, session)

    async def caller(self, request: Request) -> tuple[Session, Principal]:
        """The session and the verified principal of its access token (refreshed when
        about to expire); NotLoggedIn when there is none or it no longer verifies."""
        session = await self.session(request)
        if session is None:
            raise NotLoggedIn
        if session.tokens.expires_at - REFRESH_MARGIN < time.time():
            await self.refresh(session, None)
        try:
            principal = await run_in_threadpool(
                self.parts.principal_of, session.tokens.access_token
            )
        except AuthError as exc:
            log.info("web session ended: its token no longer verifies (%s)", exc.description)
            await self.forget(session)
            raise NotLoggedIn from exc
        return session, principal

    async def refresh(self, session: Session, details: Any) -> None:
        """New tokens for the session (with `details`: a new attestation)."""
        if session.tokens.refresh_token is None:
            await self.forget(session)
            raise NotLoggedIn
        try:
            session.tokens = await run_in_threadpool(
                self.oidc().refresh, session.tokens.refresh_token, details
            )
        except LoginFailed as exc:
            if details is not None:
                raise
            await self.forget(session)
            raise NotLoggedIn from exc
        await self.keep(session)

    async def form(self, request: Request, session: Session) -> dict[str, str]:
        """A POSTed form whose CSRF token is the session's (403 otherwise)."""
        fields = await read_form(request)
        if not session.csrf_matches(fields.get(CSRF_FIELD)):
            raise FormRefused(403, "csrf")
        return fields

    # -- pages ---------------------------------------------------------------------------
    def lang(self, request: Request) -> str:
        return language(request.cookies.get(self.cookies.language), request.headers)

    def page(
        self,
        request: Request,
        template: str,
        session: Session | None = None,
        status: int = 200,
        **values: Any,
    ) -> Response:
        """A page in the visitor's language, with the security headers."""
        lang = self.lang(request)
        html = self.pages.get_template(template).render(
            lang=lang,
            t=texts(lang),
            session=session,
            here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            context=session.context if session else None,
            **values,
        )
        return harden(HTMLResponse(html, status), content_security_policy())

    async def error(self, request: Request, status: int, key: str, detail: str = "") -> Response:
        """The error page of `status`, in the visitor's language."""
        return self.page(
            request,
            "error.html",
            await self.session(request),
            status,
            title_key=key,
            detail=detail,
        )

    async def missing(self, request: Request) -> Response:
        """The page for a path under the web views that names no page: 404, in HTML."""
        return await self.error(
            request, 404, "not_found", texts(self.lang(request))["not_found_detail"]
        )

    def guarded(self, handler: Handler) -> Handler:
        """The handler, with its refusals answered as pages (never a traceback)."""

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except NotLoggedIn:
                return harden(RedirectResponse("/", 303), content_security_policy())
            except FormRefused as exc:
                key = "csrf_failed" if exc.status == 403 else "error_title"
                return await self.error(
                    request, exc.status, key, "" if exc.status == 403 else str(exc)
                )
            except LoginFailed as exc:
                return await self.error(request, 400, "login_failed", str(exc))
            except FhirError as exc:
                key = {403: "forbidden", 404: "not_found"}.get(exc.status, "error_title")
                return await self.error(request, exc.status, key, _diagnostics(exc))
            except Exception:  # never a traceback to the browser: the log has it
                log.exception("web view failed: %s", request.url.path)
                return await self.error(request, 500, "error_title")

        return run


def _diagnostics(exc: FhirError) -> str:
    return "; ".join(issue.diagnostics for issue in exc.issues if issue.diagnostics)


STATIC = Path(__file__).parent / "static"
