"""The export worker: a job whose process died resumes cleanly, a failure ends the job
without files, expired jobs are removed with their files (time is a parameter), and the
worker paces itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fixtures.bulk_export import Store
from samhandling.config import settings_from_env, settings_to_env
from samhandling.fhir.instants import now_us
from samhandling.services.bulk_export import runner
from samhandling.services.bulk_export.worker import export_worker
from samhandling.store.database import write_connection
from samhandling.store.export_queries import claim_job

HOUR_US = 3_600_000_000


def _job_id(status_url: str) -> str:
    return status_url.rsplit("/", 1)[1]


def test_a_job_whose_worker_died_is_resumed_and_ends_clean(store: Store) -> None:
    status_url = store.kick_off()
    engine = store.client.app.state.engine  # type: ignore[attr-defined]
    with write_connection(engine) as connection:  # a worker takes it, then its process dies
        assert claim_job(connection, now_us(), lease_us=1) is not None
    folder = store.data_dir / "exports" / _job_id(status_url)
    folder.mkdir(parents=True)
    (folder / ".Patient.ndjson.part").write_bytes(b'{"resourceType": "Pat')
    assert store.worker().run_once()  # its lease has run out: taken up again
    exported = store.exported(status_url)
    assert len(exported["Patient"]) == 3 and len(exported["Observation"]) == 6
    assert not list(folder.glob(".*"))  # no half-written file left


def test_a_leased_job_is_left_to_its_worker(store: Store) -> None:
    store.kick_off()
    engine = store.client.app.state.engine  # type: ignore[attr-defined]
    with write_connection(engine) as connection:
        assert claim_job(connection, now_us(), lease_us=HOUR_US) is not None
    assert not store.worker().run_once()


def test_a_failing_job_ends_failed_without_files(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    status_url = store.kick_off()

    def broken(*_args: object) -> list[object]:
        raise OSError("disk full")

    monkeypatch.setattr(runner, "snapshot_batch", broken)
    assert store.worker().run_once()
    answer = store.client.get(status_url)
    assert answer.status_code == 500
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert not (store.data_dir / "exports" / _job_id(status_url)).exists()


def test_expired_jobs_are_removed_with_their_files(store: Store) -> None:
    status_url = store.kick_off(_type="Patient")
    store.worker().run_once()
    folder = store.data_dir / "exports" / _job_id(status_url)
    assert folder.exists()
    assert store.worker().remove_finished() == []  # not yet
    later = now_us() + int(timedelta(hours=25).total_seconds() * 1_000_000)
    assert store.worker(clock=lambda: later).remove_finished() == [_job_id(status_url)]
    assert not folder.exists()
    assert store.client.get(status_url).status_code == 404


def test_files_are_split_at_the_size_limit(store: Store) -> None:
    status_url = store.kick_off(_type="Observation")
    worker = store.worker()
    worker.limits = runner.RunLimits(batch_size=2, max_file_bytes=600)
    worker.run_once()
    outputs = store.manifest(status_url)["output"]
    assert len(outputs) > 1 and sum(o["count"] for o in outputs) == 6
    assert len(store.exported(status_url)["Observation"]) == 6


def test_the_worker_paces_itself_between_batches(store: Store) -> None:
    """After every full batch the worker waits: at least the pause, and as long as the
    rows per second ask (time is the test's: a fixed monotonic clock, sleeps recorded)."""
    status_url = store.kick_off(_type="Observation")
    waits: list[float] = []
    worker = store.worker()
    worker.limits = runner.RunLimits(
        batch_size=2,
        rows_per_second=4,
        pause_seconds=0.01,
        sleep=waits.append,
        monotonic=lambda: 100.0,
    )
    worker.run_once()
    assert waits == [0.5, 0.5, 0.5]  # 6 rows in batches of 2 at 4 rows/s; the last is short
    assert len(store.exported(status_url)["Observation"]) == 6
    unbounded = runner.RunLimits(rows_per_second=0, pause_seconds=0.01, sleep=waits.append)
    assert unbounded.pace(500, 0.0) == 0.01


def test_the_pace_is_the_settings(store: Store) -> None:
    settings = settings_from_env({"SAMHANDLING_EXPORT_ROWS_PER_SECOND": "750"})
    assert settings_from_env(settings_to_env(settings)).export_rows_per_second == 750
    worker = export_worker(store.client.app.state.engine, settings)  # type: ignore[attr-defined]
    assert worker.limits.rows_per_second == 750
