"""The seam every collaboration service plugs into: one `Service` description each.

A service is data: its `$operations` (each with the permission it needs), the rules it
attaches to writes of its resources, the access rules it adds to the policy (a service may
hide, delay or narrow its resources, or limit who writes them), the definitions it ships,
its demo-data hook, its benchmark workload, its background workers, the notification
topics it offers and the other servers it asks beside this one (`search_federation`). The
application is built from a list of them (`api.app.create_app(settings, services=[...])`);
nothing is found through a module-level registry. docs/ARCHITECTURE.md, "How to add a
service", is the checklist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from samhandling.auth.policy import AccessRule, ServiceRules
from samhandling.definitions.operation_definitions import operation_definition
from samhandling.definitions.published import shipped_definitions
from samhandling.demo.population import DemoHook
from samhandling.interactions.operations import Operation, OperationRegistry
from samhandling.interactions.write_rules import WriteRule
from samhandling.services.search_federation import (
    NO_FEDERATION,
    FederationFactory,
    SearchFederation,
)
from samhandling.services.subscription_topic import Topic


class BackgroundWorker(Protocol):
    """Work a service does beside the requests (delivering notifications, running exports):
    started when the application starts, stopped when it stops; it must survive a restart
    by keeping its state in the database, and share the work with other processes. It may
    have a `collector` (a Prometheus collector), served with the application's /metrics."""

    def start(self) -> None:
        """Begin (return at once; run in a thread or task of its own)."""

    async def stop(self) -> None:
        """Finish or hand back what is in hand, then return."""


#: makes a service's worker for one application: (the engine, the settings) -> the worker
WorkerFactory = Callable[[Any, Any], BackgroundWorker]


@dataclass(frozen=True)
class DefinitionFolder:
    """A folder of package data with FHIR definitions the service ships (StructureDefinition,
    CodeSystem, ValueSet): published read-only at start (`interactions.published_definitions`)."""

    package: str
    folder: str


@dataclass(frozen=True)
class Service:
    """One collaboration service, as the platform is built from it."""

    name: str
    operations: tuple[Operation, ...] = ()
    write_rules: tuple[WriteRule, ...] = ()
    access_rules: tuple[AccessRule, ...] = ()
    definitions: tuple[DefinitionFolder, ...] = ()
    demo: DemoHook | None = None
    #: the name of its workload in `bench/workloads` (see bench/README.md), if it has one
    benchmark: str | None = None
    #: its background workers (`BackgroundWorker`), one each per application
    workers: tuple[WorkerFactory, ...] = ()
    #: the notification topics it offers (`subscription_topic.Topic`)
    topics: tuple[Topic, ...] = ()
    #: makes its `SearchFederation` (other servers asked beside this one) from the settings
    search_federation: FederationFactory | None = None
    #: (resource type, what its resources are called): searches of these types say how
    #: many matches were withheld from the caller ("2 documents withheld"), never which
    counts_withheld: tuple[tuple[str, str], ...] = ()
    #: the resource types citizens may create and update (the policy's `citizen_writable`);
    #: its write and access rules must then say which of them are the citizen's to write
    citizen_writable: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Platform:
    """What a list of services adds up to, in the shapes the layers below take."""

    services: tuple[Service, ...]

    @classmethod
    def of(cls, services: Iterable[Service]) -> Platform:
        """The platform of `services`; two services may not claim the same operation."""
        found = tuple(services)
        names = [s.name for s in found]
        if len(set(names)) != len(names):
            raise ValueError(f"two services have the same name: {sorted(names)}")
        federating = [s.name for s in found if s.search_federation is not None]
        if len(federating) > 1:
            raise ValueError(f"more than one service federates searches: {federating}")
        platform = cls(found)
        platform.operations()  # refuses a duplicate operation now, not at the first call
        return platform

    def operations(self) -> OperationRegistry:
        """Every service's `$operations`."""
        registry = OperationRegistry()
        for service in self.services:
            for operation in service.operations:
                registry.add(operation, owner=service.name)
        return registry

    @property
    def write_rules(self) -> tuple[WriteRule, ...]:
        """Every service's write rules, in the order of the services."""
        return tuple(rule for s in self.services for rule in s.write_rules)

    def policy_rules(self) -> ServiceRules:
        """The data the access policy decides from: the operations' permissions, the
        services' access rules and what they let citizens write."""
        permissions = self.operations().permissions()
        rules = tuple(rule for s in self.services for rule in s.access_rules)
        labels = {rtype: label for s in self.services for rtype, label in s.counts_withheld}
        writable = frozenset(t for s in self.services for t in s.citizen_writable)
        return ServiceRules(
            operations=permissions,
            access_rules=rules,
            withheld_labels=labels,
            citizen_writable=writable,
        )

    def shipped_definitions(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The definitions the services ship, and the OperationDefinitions of their
        operations (one per name and type, with the levels it is registered at)."""
        folders = [(f.package, f.folder) for s in self.services for f in s.definitions]
        return shipped_definitions(folders, self.operation_definitions())

    def search_parameters(self) -> list[dict[str, Any]]:
        """The SearchParameters among the shipped definitions (registered at start)."""
        shipped = self.shipped_definitions()
        return [item for (rtype, _), item in shipped.items() if rtype == "SearchParameter"]

    def operation_definitions(self) -> list[dict[str, Any]]:
        """One OperationDefinition per operation name and resource type."""
        by_key: dict[tuple[str | None, str], list[Operation]] = {}
        for operation in self.operations().all():
            by_key.setdefault((operation.resource_type, operation.name), []).append(operation)
        definitions = []
        for (rtype, name), operations in sorted(by_key.items(), key=lambda i: str(i[0])):
            first = operations[0]
            levels = tuple(sorted({op.level for op in operations}))
            writes = any(op.writes for op in operations)
            definitions.append(
                operation_definition(
                    rtype, name, levels, writes, first.description, first.parameters
                )
            )
        return definitions

    @property
    def worker_factories(self) -> tuple[WorkerFactory, ...]:
        return tuple(factory for s in self.services for factory in s.workers)

    @property
    def topics(self) -> tuple[Topic, ...]:
        """Every service's notification topics, in the order of the services."""
        return tuple(topic for s in self.services for topic in s.topics)

    def search_federation(self, settings: Any) -> SearchFederation:
        """The federation of the (at most one) service that brings one, else the null one."""
        for service in self.services:
            if service.search_federation is not None:
                return service.search_federation(settings)
        return NO_FEDERATION

    @property
    def demo_hooks(self) -> tuple[DemoHook, ...]:
        return tuple(s.demo for s in self.services if s.demo is not None)
