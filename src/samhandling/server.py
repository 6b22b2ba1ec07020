"""The composition root of a running server: the API's application with the web views.

`api` and `web` sit side by side in the layers and never import each other; this module,
above both, puts them together. `samhandling serve` runs `create_app_from_env`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine
from starlette.applications import Starlette

from samhandling.api.app import create_app as create_api_app
from samhandling.config import Settings, settings_from_env
from samhandling.observability.json_logging import configure_logging
from samhandling.services.service import Service
from samhandling.web import web_views


def create_app(
    settings: Settings, engine: Engine | None = None, services: Sequence[Service] | None = None
) -> Starlette:
    """The whole application: the FHIR API, the development issuer and the web views."""
    return create_api_app(settings, engine, services, front_ends=(web_views,))


def create_app_from_env() -> Starlette:
    """App factory for `uvicorn --factory` worker processes (settings from SAMHANDLING_*)."""
    settings = settings_from_env()
    configure_logging(settings.log_level)
    return create_app(settings)
