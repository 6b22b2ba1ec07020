"""The seam between the application and its front ends (the web views): what the
composition root (`api.app.create_app`) hands each front end to build its routes from.

A front end sits beside the API in the layers (`samhandling.api | samhandling.web`): it may
not import the API, and the API may not import it, so both meet here. `samhandling.server`
composes the platform's application with the web views.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from starlette.routing import BaseRoute

from samhandling.audit.journal import AuditJournal
from samhandling.auth import DevIssuer, Principal
from samhandling.config import Settings
from samhandling.services.service import Platform


@dataclass(frozen=True)
class FrontEndParts:
    """The application's parts a front end uses: never a table, never the API's handlers."""

    engine: Engine
    settings: Settings
    platform: Platform
    #: the audit journal (None only when the trail is switched off for a benchmark)
    journal: AuditJournal | None
    #: the development issuer, when it runs
    dev_issuer: DevIssuer | None
    #: an access token → the caller, verified exactly as the API verifies a Bearer token
    #: (issuer, signature, audience, registers, patient ids); raises `auth.AuthError`
    principal_of: Callable[[str], Principal]


#: A front end: its routes, built from the parts.
FrontEnd = Callable[[FrontEndParts], Sequence[BaseRoute]]
