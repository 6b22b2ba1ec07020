"""The collaboration services, each registering its operations here."""

from __future__ import annotations

from samhandling.interactions.operations import OperationRegistry
from samhandling.services.identity import identity_operations


def service_operations() -> OperationRegistry:
    """Every service's extended operations."""
    registry = OperationRegistry()
    for operation in identity_operations():
        registry.add(operation)
    return registry
