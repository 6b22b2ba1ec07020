"""Logging in and out, the front page and the language switch."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from samhandling.web.oidc import LoginFailed
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

    async def front(request: Request) -> Response:
        try:
            _, principal = await views.caller(request)
        except NotLoggedIn:
            dev = views.parts.dev_issuer is not None
            return views.page(request, "home.html", None, dev=dev)
        return _redirect("/citizen" if principal.kind == "citizen" else "/clinician")

    async def login(request: Request) -> Response:
        start = views.oidc().start(LOGIN_SCOPES)
        back = local_path(request.query_params.get("next"))
        reference = await run_in_threadpool(views.sessions.begin_login, start, back)
        response = _redirect(start.url)
        views.cookies.set(
            response, views.cookies.login, views.sessions.sign(reference), LOGIN_SECONDS
        )
        return response

    async def callback(request: Request) -> Response:
        params = request.query_params
        if params.get("error"):
            raise LoginFailed(f"the provider answered {params['error'][:60]}")
        reference = views.sessions.unsign(
            request.cookies.get(views.cookies.login), max_age=LOGIN_SECONDS
        )
        try:
            start, back = await run_in_threadpool(
                views.sessions.finish_login, reference, params.get("state")
            )
        except KeyError as exc:
            raise LoginFailed("this login was not started here, or has expired") from exc
        tokens = await run_in_threadpool(
            views.oidc().exchange, params.get("code", ""), start.verifier, start.nonce
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

    async def logout(request: Request) -> Response:
        session = await views.session(request)
        if session is None:
            raise NotLoggedIn
        await views.form(request, session)
        await views.forget(session)
        response = _redirect("/")
        views.cookies.clear(response, views.cookies.session)
        return response

    async def choose_language(request: Request) -> Response:
        lang = request.path_params["lang"]
        response = _redirect(local_path(request.query_params.get("next")))
        if lang in LANGUAGES:
            views.cookies.set(response, views.cookies.language, lang, LANGUAGE_SECONDS)
        return response

    return [
        Route("/", views.guarded(front), methods=["GET"]),
        Route("/login", views.guarded(login), methods=["GET"]),
        Route("/login/callback", views.guarded(callback), methods=["GET"]),
        Route("/logout", views.guarded(logout), methods=["POST"]),
        Route("/language/{lang}", views.guarded(choose_language), methods=["GET"]),
    ]
