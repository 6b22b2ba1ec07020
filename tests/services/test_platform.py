"""The platform is the sum of its `Service` descriptions (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import app_settings
from samhandling.api.app import create_app
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.services import default_platform, platform_services
from samhandling.services.definitions.read_only import ShippedDefinitionsAreReadOnly
from samhandling.services.service import Platform, Service


def _nothing(_context: OperationContext) -> OperationResult:
    return OperationResult({"resourceType": "Parameters"})


def test_the_platform_is_built_of_its_services() -> None:
    names = [s.name for s in platform_services()]
    assert names == [
        "identity",
        "critical-information",
        "medication-list",
        "lab-results",
        "terminology",
        "audit-trail",
        "measurements",
        "validation",
        "patient-summary",
        "bulk-export",
        "document-sharing",
        "document-federation",
        "notifications",
        "shipped-definitions",
    ]
    platform = default_platform()
    permissions = platform.policy_rules().operations
    assert permissions["merge"] == "u" and permissions["lookup"] == "" and "confirm" in permissions
    assert isinstance(platform.write_rules[-1], ShippedDefinitionsAreReadOnly)
    assert platform.policy_rules().access_rules  # the critical-information writers


def test_two_services_cannot_claim_one_operation() -> None:
    first = Service("one", operations=(Operation("ping", "type", "Patient", _nothing, "r"),))
    second = Service("two", operations=(Operation("ping", "type", "Patient", _nothing, "r"),))
    with pytest.raises(ValueError, match=r"\$ping is claimed by 'one' and 'two'"):
        Platform.of([first, second])
    other_type = Service("two", operations=(Operation("ping", "type", "Group", _nothing, "s"),))
    with pytest.raises(ValueError, match="two permissions"):
        Platform.of([first, other_type])  # the policy knows an operation by its name
    with pytest.raises(ValueError, match="same name"):
        Platform.of([first, Service("one")])


def test_each_operation_is_published_with_its_levels_and_parameters() -> None:
    service = Service(
        "example",
        operations=tuple(
            Operation(
                "ping",
                level,
                "Patient",
                _nothing,
                "r",
                description="Answers.",
                parameters=(("return", "out", 1, "1", "Parameters"),),
            )
            for level in ("type", "instance")
        ),
    )
    (definition,) = Platform.of([service]).operation_definitions()
    assert definition["id"] == "samhandling-Patient-ping"
    assert (definition["type"], definition["instance"], definition["system"]) == (
        True,
        True,
        False,
    )
    assert definition["description"] == "Answers."
    assert definition["parameter"] == [
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "Parameters"}
    ]
    shipped = Platform.of([service]).shipped_definitions()
    assert list(shipped) == [("OperationDefinition", "samhandling-Patient-ping")]


def test_each_named_benchmark_workload_exists() -> None:
    """`Service.benchmark` names a workload module of the harness (bench/workloads/)."""
    workloads = Path(__file__).resolve().parents[2] / "bench" / "workloads"
    named = [s.benchmark for s in platform_services() if s.benchmark]
    assert named == [
        "critical-information",
        "medication-list",
        "lab-results",
        "measurements",
        "document-sharing",
    ]
    for name in named:
        assert (workloads / f"{name.replace('-', '_')}.py").is_file(), name


class _Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")


def test_a_service_worker_runs_while_the_application_runs(
    database_url: str, tmp_path: Path
) -> None:

    made: list[_Recorder] = []

    def factory(_engine: object, _settings: object) -> _Recorder:
        made.append(_Recorder())
        return made[-1]

    services = platform_services(extra=[Service("with-a-worker", workers=(factory,))])
    settings = app_settings(database_url, tmp_path, background_workers=True)
    app = create_app(settings, services=services)
    assert made and made[0].events == []  # made with the app, started with it
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert made[0].events == ["start"]
    assert made[0].events == ["start", "stop"]
