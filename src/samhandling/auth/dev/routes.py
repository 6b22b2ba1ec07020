"""Starlette routes of the development issuer (framework glue only).

Mount them only when the dev issuer is enabled; `dev_issuer_routes` refuses in production
mode (the DevIssuer constructor already does). Paths, under `prefix` (default
`/dev-issuer`, which must be the path of the issuer URL):

- `GET  {prefix}/jwks`
- `POST {prefix}/token` (form-encoded; optional `DPoP` header)
- `GET  {prefix}/.well-known/openid-configuration`
- `GET  {prefix}/idporten/.well-known/openid-configuration` (the citizen twin)
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from samhandling.auth.dev.issuer import DevIssuer, DevIssuerDisabled, is_production
from samhandling.auth.dev.token_endpoint import TokenEndpointError

log = logging.getLogger(__name__)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FORM_BYTES = 64 * 1024


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
    issuer: DevIssuer, *, prefix: str = "/dev-issuer", production: bool = False
) -> list[Route]:
    """The issuer's routes; DevIssuerDisabled in production mode."""
    if is_production(production):
        raise DevIssuerDisabled("the development issuer must not run in production mode")
    prefix = prefix.rstrip("/")

    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse(issuer.jwks(), headers={"Cache-Control": "max-age=300"})

    async def configuration(request: Request) -> JSONResponse:
        return JSONResponse(issuer.openid_configuration())

    async def citizen_configuration(request: Request) -> JSONResponse:
        return JSONResponse(issuer.openid_configuration(citizen=True))

    async def token(request: Request) -> JSONResponse:
        try:
            fields = await _form(request)
            # The DPoP `htu` is compared with the issuer's configured token URL, never with
            # a URL built from the request's Host header (which the client chooses).
            body = issuer.token_endpoint(fields, request.headers.get("dpop"), issuer.token_url)
        except TokenEndpointError as exc:
            log.info("dev issuer token request refused: %s", exc.description)
            return JSONResponse(exc.body(), exc.status, headers=_NO_STORE)
        return JSONResponse(body, headers=_NO_STORE)

    return [
        Route(f"{prefix}/jwks", jwks, methods=["GET"]),
        Route(f"{prefix}/token", token, methods=["POST"]),
        Route(f"{prefix}/.well-known/openid-configuration", configuration, methods=["GET"]),
        Route(
            f"{prefix}/idporten/.well-known/openid-configuration",
            citizen_configuration,
            methods=["GET"],
        ),
    ]
