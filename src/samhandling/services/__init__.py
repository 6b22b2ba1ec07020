"""The collaboration services, each registering its operations here."""

from __future__ import annotations

from samhandling.interactions.operations import OperationRegistry


def service_operations() -> OperationRegistry:
    """Every service's extended operations."""
    registry = OperationRegistry()
    return registry
