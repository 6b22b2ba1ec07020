"""The collaboration services, each registering its operations and write rules here."""

from __future__ import annotations

from samhandling.interactions.operations import OperationRegistry
from samhandling.interactions.write_rules import WriteRule
from samhandling.services.critical_information import (
    critical_information_operations,
    critical_information_rules,
)
from samhandling.services.definitions.read_only import ShippedDefinitionsAreReadOnly
from samhandling.services.identity import identity_operations
from samhandling.services.terminology.operations import terminology_operations


def service_operations() -> OperationRegistry:
    """Every service's extended operations."""
    registry = OperationRegistry()
    for operation in [*identity_operations(), *critical_information_operations()]:
        registry.add(operation)
    for operation in terminology_operations():
        registry.add(operation)
    return registry


def service_write_rules() -> list[WriteRule]:
    """Every service's rules for writes of its resources (and the shipped definitions')."""
    return [*critical_information_rules(), ShippedDefinitionsAreReadOnly()]
