"""The collaboration services the platform is built of, each one `Service` description.

`platform_services()` is the list the server runs; a new service is one more line here
(docs/ARCHITECTURE.md, "How to add a service"). The shipped definitions come last: their
read-only rule covers what every service before them ships.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable

from samhandling.services import (
    audit_trail,
    bulk_export,
    critical_information,
    document_federation,
    document_sharing,
    identity,
    lab_results,
    measurements,
    medication_list,
    notifications,
    patient_summary,
    terminology,
    validation,
)
from samhandling.services.definitions import shipped_definitions_service
from samhandling.services.service import Platform, Service


def platform_services(extra: Iterable[Service] = ()) -> list[Service]:
    """The platform's services (and `extra` ones), the shipped definitions' rule last."""
    services = [
        identity.SERVICE,
        critical_information.SERVICE,
        medication_list.SERVICE,
        lab_results.SERVICE,
        terminology.SERVICE,
        audit_trail.SERVICE,
        measurements.SERVICE,
        validation.SERVICE,
        patient_summary.SERVICE,
        bulk_export.SERVICE,
        document_sharing.SERVICE,
        document_federation.SERVICE,
        *extra,
    ]
    return [*services, notifications.service(services), shipped_definitions_service(services)]


def imported_services(paths: Iterable[str]) -> list[Service]:
    """The services named by `module:attribute` import paths (`SAMHANDLING_SERVICES`,
    `serve --service`): how a deployment adds a service of its own package. A path that does
    not name a `Service` is a ValueError saying which."""
    found = []
    for path in paths:
        module_name, _, attribute = path.partition(":")
        try:
            service = getattr(importlib.import_module(module_name), attribute or "SERVICE")
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"service {path!r} cannot be loaded: {exc}") from exc
        if not isinstance(service, Service):
            raise ValueError(f"service {path!r} is not a samhandling Service")
        found.append(service)
    return found


def platform_of(paths: Iterable[str] = ()) -> Platform:
    """The platform's services and those named by `paths` (see `imported_services`)."""
    return Platform.of(platform_services(extra=imported_services(paths)))


@functools.cache
def default_platform() -> Platform:
    """The platform of `platform_services()` (for the command line and the importer)."""
    return Platform.of(platform_services())
