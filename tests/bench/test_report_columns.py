"""The run table's "other cores busy": the cores beside the server's, whose database
backends, load generator and harness may be what binds a workload."""

from __future__ import annotations

from bench.report import other_cores_busy


def test_the_other_cores_are_summed_without_the_servers() -> None:
    resources = {"cpu_busy": {"0": 0.93, "1": 0.81, "2": 0.12}}
    assert other_cores_busy(resources, "0") == "0.93"
    assert other_cores_busy(resources, "1") == "1.05"


def test_without_pinning_or_samples_nothing_is_said() -> None:
    assert other_cores_busy({"cpu_busy": {"0": 0.5, "1": 0.5}}, None) == "–"
    assert other_cores_busy({}, "0") == "–"
