"""Logging in and out, the front page and the language switch."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from samhandling.web.oidc import LoginFailed, LoginStart
from samhandling.web.security import content_security_policy, harden, local_path
from samhandling.web.sessions import LOGIN_SECONDS, MAX_SECONDS
from samhandling.web.texts import LANGUAGES
from samhandling.web.views import NotLoggedIn, WebViews

#: What the web views ask the provider for: who the user is, and a refresh token (to
#: declare the purpose of use later); the resource scopes are the persona's own.
LOGIN_SCOPES = ("openid", "profile", "offline_access")
LANGUAGE_SECONDS = 365 * 24 * 3600


def _redirect(url: str, policy_targets: tuple[str, ...] = ()) -> Response:
    return harden(RedirectResponse(url, 303), content_security_policy(policy_targets))


def login_routes(views: WebViews) -> list[Route]:
    """`/`, `/login`, `/login/callback`, `/logout`, `/language/{lang}`."""
    return LoginPages(views).routes()


class LoginPages:
    """The front page, the login through the provider, the logout and the language switch."""

    def __init__(self, views: WebViews) -> None:
        self.views = views

    def routes(self) -> list[Route]:
        """The routes, each under the views' guard."""
        guarded = self.views.guarded
        return [
            Route("/", guarded(self.front), methods=["GET"]),
            Route("/login", guarded(self.login), methods=["GET"]),
            Route("/login/callback", guarded(self.callback), methods=["GET"]),
            Route("/logout", guarded(self.logout), methods=["POST"]),
            Route("/language/{lang}", guarded(self.choose_language), methods=["GET"]),
        ]

    async def front(self, request: Request) -> Response:
        """The home page; a logged-in caller goes on to their own view."""
        views = self.views
        try:
            _, principal = await views.caller(request)
        except NotLoggedIn:
            dev = views.parts.dev_issuer is not None
            return views.page(request, "home.html", None, dev=dev)
        return _redirect("/citizen" if principal.kind == "citizen" else "/clinician")

    async def login(self, request: Request) -> Response:
        """To the provider, the login begun and its reference in a signed cookie."""
        views = self.views
        start = views.oidc().start(LOGIN_SCOPES)
        back = local_path(request.query_params.get("next"))
        reference = await run_in_threadpool(views.sessions.begin_login, start, back)
        response = _redirect(start.url)
        views.cookies.set(
            response, views.cookies.login, views.sessions.sign(reference), LOGIN_SECONDS
        )
        return response

    async def callback(self, request: Request) -> Response:
        """The provider's answer: the tokens exchanged for a new session, back where the
        login began."""
        views = self.views
        start, back = await self._finished_login(request)
        tokens = await run_in_threadpool(
            views.oidc().exchange, request.query_params.get("code", ""), start.verifier, start.nonce
        )
        previous = await views.session(request)
        if previous is not None:
            await views.forget(previous)  # one session per browser: the old one's tokens go
        session = await run_in_threadpool(views.sessions.create, tokens)
        response = _redirect(back)
        views.cookies.clear(response, views.cookies.login)
        views.cookies.set(
            response, views.cookies.session, views.sessions.sign(session.id), MAX_SECONDS
        )
        return response

    async def _finished_login(self, request: Request) -> tuple[LoginStart, str]:
        """The login this browser began (its PKCE verifier and nonce) and where it goes back
        to; LoginFailed for a provider's error, or a login not begun here or expired."""
        views, params = self.views, request.query_params
        if params.get("error"):
            raise LoginFailed(f"the provider answered {params['error'][:60]}")
        reference = views.sessions.unsign(
            request.cookies.get(views.cookies.login), max_age=LOGIN_SECONDS
        )
        try:
            return await run_in_threadpool(
                views.sessions.finish_login, reference, params.get("state")
            )
        except KeyError as exc:
            raise LoginFailed("this login was not started here, or has expired") from exc

    async def logout(self, request: Request) -> Response:
        """The session forgotten (its form's CSRF token checked first) and its cookie cleared."""
        views = self.views
        session = await views.session(request)
        if session is None:
            raise NotLoggedIn
        await views.form(request, session)
        await views.forget(session)
        response = _redirect("/")
        views.cookies.clear(response, views.cookies.session)
        return response

    async def choose_language(self, request: Request) -> Response:
        """The language cookie set (for a language the views have), back to `next`."""
        lang = request.path_params["lang"]
        response = _redirect(local_path(request.query_params.get("next")))
        if lang in LANGUAGES:
            self.views.cookies.set(response, self.views.cookies.language, lang, LANGUAGE_SECONDS)
        return response
