"""Extended operations (R4 §3.1.0.13, `$name`): a registry the collaboration services fill.

An operation is a function of an `OperationContext`. It runs in one database transaction
(a write transaction when `writes` is set), with the caller's access guard, so an operation
is as all-or-nothing and as policy-bound as any other interaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection

from samhandling.access_guard import AccessGuard
from samhandling.definitions.operation_definitions import Param
from samhandling.fhir.outcome import FhirError, error
from samhandling.store.version_writer import VersionWriter

Level = Literal["system", "type", "instance"]
#: the resource type of an operation defined on Resource, i.e. every type (`$validate`)
ANY_TYPE = "Resource"


@dataclass
class OperationContext:
    """Everything an operation handler may use."""

    connection: Connection
    writer: VersionWriter
    guard: AccessGuard
    base_url: str
    resource_type: str | None
    resource_id: str | None
    parameters: dict[str, list[Any]]
    body: Any = None
    #: the request's headers, names in lower case (e.g. `prefer` for `$export`)
    headers: Mapping[str, str] = field(default_factory=dict)
    #: the server's data directory, for operations that keep files (signing keys)
    data_dir: Path | None = None

    def parameter(self, name: str, default: Any = None) -> Any:
        """The first value of a parameter, or `default`."""
        values = self.parameters.get(name)
        return values[0] if values else default

    # Typed readers: each answers a wrong type with 400 naming the parameter, so every
    # operation reads its input the same way (query string or Parameters body).

    def text(self, name: str) -> str | None:
        """A string parameter, stripped; None when absent or blank."""
        value = self.parameter(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise FhirError(400, error("invalid", f"Parameter {name} must be a string", name))
        return value.strip() or None

    def boolean(self, name: str, default: bool = False) -> bool:
        """A boolean parameter (valueBoolean, or "true"/"false" in the query)."""
        value = self.parameter(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise FhirError(400, error("invalid", f"Parameter {name} must be a boolean", name))

    def integer(self, name: str, low: int, high: int) -> int | None:
        """An integer parameter within [low, high], or None when absent."""
        value = self.parameter(name)
        if value is None:
            return None
        if isinstance(value, str) and (value.strip().isascii() and value.strip().isdigit()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            message = f"Parameter {name} must be an integer from {low} to {high}"
            raise FhirError(400, error("invalid", message, name))
        return value

    def resource(self, name: str, resource_type: str) -> dict[str, Any] | None:
        """A resource parameter of the given type, or None when absent."""
        value = self.parameter(name)
        if value is None:
            return None
        if not isinstance(value, dict) or value.get("resourceType") != resource_type:
            message = f"Parameter {name} must hold a {resource_type} resource"
            raise FhirError(400, error("invalid", message, name))
        return value


@dataclass(frozen=True)
class OperationResult:
    """A resource (usually Parameters, Bundle or OperationOutcome) and the HTTP status; or,
    for an operation that renders (the summary as HTML or PDF), `content` bytes of
    `media_type` instead of the resource."""

    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    media_type: str | None = None


Handler = Callable[[OperationContext], OperationResult]


@dataclass(frozen=True)
class Operation:
    """One `$name` operation: where it is invoked, its handler and the permission it needs.

    `permission` is what the policy checks the caller's SMART scopes for on the resource
    type, as letters of `cruds` ("r" read, "s" search, "c" create, "u" update, "d" delete);
    "" needs no scope (operations over no patient data, e.g. terminology). `description`
    and `parameters` make its published OperationDefinition.
    """

    name: str  # without the leading "$"
    level: Level
    resource_type: str | None
    handler: Handler
    permission: str
    writes: bool = False
    methods: tuple[str, ...] = ("POST",)
    description: str = ""
    parameters: tuple[Param, ...] = ()
    resource_body: bool = False  # its one resource input may be the whole body


class OperationRegistry:
    """Operations by (name, level, resource type)."""

    def __init__(self) -> None:
        self._operations: dict[tuple[str, Level, str | None], Operation] = {}
        self._owners: dict[tuple[str, Level, str | None], str] = {}
        self._permissions: dict[str, str] = {}

    def add(self, operation: Operation, owner: str = "") -> None:
        """Register `operation` (of the service `owner`); a second claim of the same name,
        level and type, or the same name with another permission, is a ValueError."""
        key = (operation.name, operation.level, operation.resource_type)
        if key in self._operations:
            raise ValueError(f"${operation.name} is claimed by {self._owners[key]!r} and {owner!r}")
        permission = self._permissions.setdefault(operation.name, operation.permission)
        if permission != operation.permission:
            # The policy knows an operation by its name (`operation:<name>`).
            raise ValueError(f"${operation.name} is registered with two permissions")
        self._operations[key] = operation
        self._owners[key] = owner

    def permissions(self) -> dict[str, str]:
        """The permission each operation needs, by name (for the access policy)."""
        return dict(self._permissions)

    def find(self, name: str, level: Level, resource_type: str | None, method: str) -> Operation:
        """The operation, or a 404 (unknown) / 405 (wrong method) FhirError. An operation
        registered for `ANY_TYPE` answers on every resource type without its own."""
        operation = self._operations.get((name, level, resource_type))
        if operation is None and resource_type is not None:
            operation = self._operations.get((name, level, ANY_TYPE))
        if operation is None:
            where = f"{resource_type or 'system'} ({level} level)"
            raise FhirError(404, error("not-supported", f"Unknown operation ${name} on {where}"))
        if method not in operation.methods:
            raise FhirError(405, error("not-supported", f"${name} does not accept {method}"))
        return operation

    def all(self) -> list[Operation]:
        return list(self._operations.values())


def parameters_of(
    body: Any, query: list[tuple[str, str]], *, resource_body: bool = False
) -> dict[str, list[Any]]:
    """Operation parameters from a Parameters body (value[x] or resource) and the query.
    With `resource_body`, another resource as the body is the `resource` parameter (R4
    §3.1.0.13: an operation whose one resource input may be sent as the body)."""
    found: dict[str, list[Any]] = {}
    for name, value in query:
        found.setdefault(name, []).append(value)
    if body is None:
        return found
    is_resource = isinstance(body, dict) and isinstance(body.get("resourceType"), str)
    if resource_body and is_resource and body.get("resourceType") != "Parameters":
        found["resource"] = [body]
        return found
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise FhirError(400, error("invalid", "An operation body must be a Parameters resource"))
    for parameter in body.get("parameter", []):
        found.setdefault(parameter.get("name", ""), []).append(_parameter_value(parameter))
    return found


def _parameter_value(parameter: dict[str, Any]) -> Any:
    if "resource" in parameter:
        return parameter["resource"]
    if "part" in parameter:
        return parameter
    for key, value in parameter.items():
        if key.startswith("value"):
            return value
    return None
