"""Where a job's files live: `<data dir>/exports/<job id>/<Type>.ndjson`, written under a
temporary name (`.<Type>.ndjson.part`) and renamed when complete, so a file a client can
fetch is always whole."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samhandling.fhir import json_codec

_JOB_ID = re.compile(r"^[0-9a-f\-]{36}$")
#: the file of the manifest's `error` array: an OperationOutcome per parameter (or
#: value) ignored under `Prefer: handling=lenient` (Bulk Data 2.0); no R4 type has its name
MESSAGES = "Messages.ndjson"
_FILE_NAME = re.compile(r"^[A-Z][A-Za-z]{1,63}(-[0-9]{1,6})?\.ndjson$")


@dataclass(frozen=True)
class ExportFolders:
    """The root of all jobs' folders (`settings.data_dir / "exports"`)."""

    root: Path

    def folder(self, job_id: str) -> Path:
        """A job's folder (ValueError for a malformed id: never a path outside the root)."""
        if not _JOB_ID.match(job_id):
            raise ValueError(f"not an export job id: {job_id!r}")
        return self.root / job_id

    def file(self, job_id: str, name: str) -> Path | None:
        """A finished file of a job, or None when there is no such file."""
        if not _FILE_NAME.match(name):
            return None
        path = self.folder(job_id) / name
        return path if path.is_file() else None

    def remove(self, job_id: str) -> None:
        """Remove a job's folder and everything in it (nothing if it is not there)."""
        shutil.rmtree(self.folder(job_id), ignore_errors=True)


def file_name(resource_type: str, part: int) -> str:
    """The name of a type's `part`-th file (from 1): `Observation.ndjson`, then
    `Observation-2.ndjson`, ..."""
    return f"{resource_type}.ndjson" if part == 1 else f"{resource_type}-{part}.ndjson"


def temporary(path: Path) -> Path:
    """The name a file is written under until it is complete."""
    return path.with_name(f".{path.name}.part")


def write_messages(folder: Path, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write one OperationOutcome per issue as the job's messages file; its manifest
    entry (marked `error`), or none without issues."""
    if not issues:
        return []
    path = folder / MESSAGES
    lines = [
        json_codec.dump({"resourceType": "OperationOutcome", "issue": [issue]}) + b"\n"
        for issue in issues
    ]
    with temporary(path).open("wb") as handle:
        handle.write(b"".join(lines))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary(path), path)
    return [{"type": "OperationOutcome", "file": MESSAGES, "count": len(issues), "error": True}]
