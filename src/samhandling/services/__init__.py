"""The collaboration services the platform is built of, each one `Service` description.

`platform_services()` is the list the server runs; a new service is one more line here
(docs/ARCHITECTURE.md, "How to add a service"). The shipped definitions come last: their
read-only rule covers what every service before them ships.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from samhandling.services import audit_trail, critical_information, identity, terminology
from samhandling.services.definitions import shipped_definitions_service
from samhandling.services.service import Platform, Service


def platform_services(extra: Iterable[Service] = ()) -> list[Service]:
    """The platform's services (and `extra` ones), the shipped definitions' rule last."""
    services = [
        identity.SERVICE,
        critical_information.SERVICE,
        terminology.SERVICE,
        audit_trail.SERVICE,
        *extra,
    ]
    return [*services, shipped_definitions_service(services)]


@functools.cache
def default_platform() -> Platform:
    """The platform of `platform_services()` (for the command line and the importer)."""
    return Platform.of(platform_services())
