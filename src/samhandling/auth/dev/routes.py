"""Starlette routes of the development issuer (framework glue only).

Mount them only when the dev issuer is enabled; `dev_issuer_routes` refuses in production
mode (the DevIssuer constructor already does). Paths, under `prefix` (default
`/dev-issuer`, which must be the path of the issuer URL):

- `GET  {prefix}/jwks`
- `POST {prefix}/token` (form-encoded; optional `DPoP` header)
- `GET  {prefix}/.well-known/openid-configuration`
- `GET  {prefix}/idporten/.well-known/openid-configuration` (the citizen twin)
- `GET, POST {prefix}/authorize` (the code flow's login page, `authorization`)
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from samhandling.auth.dev.authorization import (
    LOGIN_PERSONAS,
    AuthorizationServer,
    AuthorizeRedirect,
    AuthorizeRefused,
)
from samhandling.auth.dev.issuer import DevIssuer, DevIssuerDisabled, is_production
from samhandling.auth.dev.personas import PERSONAS
from samhandling.auth.dev.token_endpoint import TokenEndpointError

log = logging.getLogger(__name__)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FORM_BYTES = 64 * 1024
CODE_GRANTS = frozenset({"authorization_code", "refresh_token"})
_PAGES = Environment(
    loader=PackageLoader("samhandling.auth.dev", "templates"),
    autoescape=select_autoescape(default=True),
)


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form body (OAuth token requests are never multipart)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise TokenEndpointError("invalid_request", "form-urlencoded body required")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            raise TokenEndpointError("invalid_request", "request too large")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise TokenEndpointError("invalid_request", "body is not UTF-8") from exc
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise TokenEndpointError("invalid_request", f"parameter {key} repeated")
        fields[key] = value
    return fields


def dev_issuer_routes(
    issuer: DevIssuer,
    *,
    prefix: str = "/dev-issuer",
    production: bool = False,
    codes: AuthorizationServer | None = None,
) -> list[Route]:
    """The issuer's routes; DevIssuerDisabled in production mode. With `codes`, also the
    authorization code flow (the login page and the code and refresh grants)."""
    if is_production(production):
        raise DevIssuerDisabled("the development issuer must not run in production mode")
    prefix = prefix.rstrip("/")
    endpoints = IssuerEndpoints(issuer, codes)
    routes = [
        Route(f"{prefix}/jwks", endpoints.jwks, methods=["GET"]),
        Route(f"{prefix}/token", endpoints.token, methods=["POST"]),
        Route(
            f"{prefix}/.well-known/openid-configuration", endpoints.configuration, methods=["GET"]
        ),
        Route(
            f"{prefix}/idporten/.well-known/openid-configuration",
            endpoints.citizen_configuration,
            methods=["GET"],
        ),
    ]
    if codes is not None:
        routes += login_routes(codes, prefix)
    return routes


class IssuerEndpoints:
    """The issuer's keys, its OpenID configurations and its token endpoint; with `codes`,
    the token endpoint takes the code flow's grants too."""

    def __init__(self, issuer: DevIssuer, codes: AuthorizationServer | None) -> None:
        self.issuer = issuer
        self.codes = codes

    async def jwks(self, request: Request) -> JSONResponse:
        """The issuer's public keys."""
        return JSONResponse(self.issuer.jwks(), headers={"Cache-Control": "max-age=300"})

    async def configuration(self, request: Request) -> JSONResponse:
        """The issuer's discovery document."""
        return JSONResponse(self.issuer.openid_configuration())

    async def citizen_configuration(self, request: Request) -> JSONResponse:
        """The discovery document of its citizen twin (under `idporten/`)."""
        return JSONResponse(self.issuer.openid_configuration(citizen=True))

    async def token(self, request: Request) -> JSONResponse:
        """A token request: the code flow's grants to `codes`, any other to the issuer."""
        issuer, codes = self.issuer, self.codes
        try:
            fields = await _form(request)
            if codes is not None and fields.get("grant_type") in CODE_GRANTS:
                answer = codes.token(fields, request.headers.get("authorization"))
                return JSONResponse(answer, headers=_NO_STORE)
            # The DPoP `htu` is compared with the issuer's configured token URL, never with
            # a URL built from the request's Host header (which the client chooses).
            body = issuer.token_endpoint(fields, request.headers.get("dpop"), issuer.token_url)
        except TokenEndpointError as exc:
            log.info("dev issuer token request refused: %s", exc.description)
            return JSONResponse(exc.body(), exc.status, headers=_NO_STORE)
        return JSONResponse(body, headers=_NO_STORE)


def login_routes(codes: AuthorizationServer, prefix: str) -> list[Route]:
    """`{prefix}/authorize`: the login page (GET) and the tester's choice (POST)."""

    async def show(request: Request) -> Response:
        try:
            request_id, wanted = codes.begin(dict(request.query_params))
        except AuthorizeRefused as exc:
            return _page(_refusal(str(exc)), 400)
        except AuthorizeRedirect as exc:
            return RedirectResponse(exc.url, 303)
        page = _PAGES.get_template("login.html").render(
            action=f"{prefix}/authorize",
            request_id=request_id,
            client_id=wanted.client_id,
            scopes=" ".join(wanted.scopes) or "(ingen)",
            personas=[
                {"name": n, "display_name": PERSONAS[n].display_name, "description": d}
                for n, d in LOGIN_PERSONAS.items()
            ],
            people=codes.people(),
        )
        return _page(page, 200, wanted.redirect_uri)

    async def choose(request: Request) -> Response:
        try:
            fields = await _form(request)
            return RedirectResponse(codes.complete(fields), 303)
        except (AuthorizeRefused, TokenEndpointError) as exc:
            return _page(_refusal(str(exc)), 400)

    return [
        Route(f"{prefix}/authorize", show, methods=["GET"]),
        Route(f"{prefix}/authorize", choose, methods=["POST"]),
    ]


def _refusal(why: str) -> str:
    return _PAGES.from_string(
        '<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8"><title>Innlogging avvist'
        "</title></head><body><main><h1>Innloggingen ble avvist</h1><p>{{ why }}</p></main>"
        "</body></html>"
    ).render(why=why)


def _page(html: str, status: int, redirect_uri: str | None = None) -> HTMLResponse:
    """A page of the issuer: no scripts, no framing, forms only to us and the client."""
    target = " " + _origin(redirect_uri) if redirect_uri else ""
    policy = f"default-src 'none'; form-action 'self'{target}; frame-ancestors 'none'"
    headers = {**_NO_STORE, "Content-Security-Policy": policy, "X-Frame-Options": "DENY"}
    return HTMLResponse(html, status, headers=headers)


def _origin(uri: str) -> str:
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
