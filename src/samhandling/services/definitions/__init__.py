"""The shipped definitions as a service: the write rule that keeps what the other services
ship (their profiles, code systems, value sets and OperationDefinitions) read-only."""

from __future__ import annotations

from collections.abc import Sequence

from samhandling.services.definitions.read_only import ShippedDefinitionsAreReadOnly
from samhandling.services.service import Platform, Service


def shipped_definitions_service(services: Sequence[Service]) -> Service:
    """The service guarding the definitions `services` ship."""
    shipped = Platform.of(services).shipped_definitions()
    return Service(
        name="shipped-definitions", write_rules=(ShippedDefinitionsAreReadOnly(shipped),)
    )
