"""The export worker: a thread that takes waiting jobs (or jobs whose process died, once
their lease ran out), runs them, and removes expired and cancelled jobs with their files.
Its state is the job rows, so several processes share the work and a restart resumes it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from samhandling.fhir.instants import now_us
from samhandling.services.bulk_export.files import ExportFolders
from samhandling.services.bulk_export.research import ResearchProjects
from samhandling.services.bulk_export.runner import Clock, RunLimits, run_job
from samhandling.store.database import write_connection
from samhandling.store.export_queries import (
    FAILED,
    claim_job,
    delete_job,
    end_job,
    jobs_to_remove,
)

log = logging.getLogger("samhandling.bulk_export")


class ExportWorker:
    """Runs `$export` jobs beside the requests (a `BackgroundWorker`)."""

    def __init__(
        self,
        engine: Any,
        folders: ExportFolders,
        *,
        limits: RunLimits | None = None,
        poll_seconds: float = 1.0,
        clock: Clock = now_us,
        projects: ResearchProjects | None = None,
    ) -> None:
        self.engine, self.folders, self.limits = engine, folders, limits or RunLimits()
        self.poll_seconds, self.clock = poll_seconds, clock
        # the research projects' keys live beside the exports, in the data directory
        self.projects = projects or ResearchProjects(folders.root.parent)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="bulk-export", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    def _loop(self) -> None:
        _lower_priority()
        while not self._stopping.is_set():
            try:
                worked = self.run_once()
            except Exception:
                log.exception("the export worker failed a round")
                worked = False
            if not worked:
                self._stopping.wait(self.poll_seconds)

    def run_once(self) -> bool:
        """Clean up, then run one job if there is one; whether a job was run."""
        self.remove_finished()
        with write_connection(self.engine) as connection:
            job = claim_job(connection, self.clock(), self.limits.lease_us)
        if job is None:
            return False
        try:
            project = job.parameters.get("deidentify")
            pseudonyms = self.projects.pseudonyms(project) if project else None
            run_job(self.engine, job, self.folders, self.limits, self.clock, pseudonyms)
        except Exception as exc:
            log.exception("export job %s failed", job.job_id)
            self.folders.remove(job.job_id)
            with write_connection(self.engine) as connection:
                end_job(
                    connection, job.job_id, FAILED, [], f"the export failed: {type(exc).__name__}"
                )
        return True

    def remove_finished(self) -> list[str]:
        """Remove the expired jobs and the cancelled ones with their files."""
        with write_connection(self.engine) as connection:
            gone = jobs_to_remove(connection, self.clock())
            for job_id in gone:
                delete_job(connection, job_id)
        for job_id in gone:
            self.folders.remove(job_id)
        return gone


def _lower_priority() -> None:
    """Run this thread at the lowest CPU priority (Linux schedules threads apart; best
    effort elsewhere), so that on a busy machine the requests go first."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        log.info("the export worker runs at normal priority")


def export_worker(engine: Any, settings: Any) -> ExportWorker:
    """The worker factory of the service: jobs' files under the data directory, paced at
    `settings.export_rows_per_second`."""
    limits = RunLimits(rows_per_second=settings.export_rows_per_second)
    return ExportWorker(engine, ExportFolders(settings.data_dir / "exports"), limits=limits)
