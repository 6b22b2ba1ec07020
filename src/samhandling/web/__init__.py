"""The platform's web views: the citizen's and the clinician's pages (docs/WEB_VIEWS.md).

A front end beside the API (`front_end.FrontEnd`): server-rendered pages (Jinja2), one
static style sheet, no scripts, reaching data only through the interactions and the
services' operations under the same policy as the API (`access`).
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from samhandling.front_end import FrontEndParts
from samhandling.web.citizen import citizen_routes
from samhandling.web.clinician import clinician_routes
from samhandling.web.login import login_routes
from samhandling.web.measurements import MeasurementPages
from samhandling.web.views import STATIC, WebViews

__all__ = ["web_views"]


def web_views(parts: FrontEndParts) -> list[BaseRoute]:
    """The routes of the web views (`/`, `/login`, `/citizen…`, `/clinician…`, `/static`)."""
    views = WebViews(parts)
    return [
        *login_routes(views),
        *citizen_routes(views),
        *MeasurementPages(views).routes(),
        *clinician_routes(views),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Route("/favicon.ico", lambda _request: Response(status_code=204)),
        # Last: any other path under the pages' prefixes is an HTML 404, not an outcome.
        *(Route(f"/{prefix}/{{rest:path}}", views.missing, methods=ANY) for prefix in PREFIXES),
    ]


#: the path prefixes of the web views (the API's are `/fhir`, `/dev-issuer`, `/.well-known`)
PREFIXES = ("citizen", "clinician", "login", "language")
ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
