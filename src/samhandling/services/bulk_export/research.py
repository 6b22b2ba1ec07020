"""Research projects: which clients may ask a de-identified export for which project,
and each project's pseudonym key (docs/BULK_EXPORT.md, "De-identified research exports").

Configuration: `<data dir>/research-projects.json`,
`{"projects": {"diabetes-2026": {"clients": ["forskning-app"]}}}`. A client named in any
project is a *research client*: it gets de-identified exports only. A project's key is
`<data dir>/research-keys/<project>.key` (32 random bytes, mode 0600), made at the
project's first export if the operator did not place one; it never leaves the server.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samhandling.services.bulk_export.deidentify import Pseudonyms

PROJECTS_FILE = "research-projects.json"
KEYS_FOLDER = "research-keys"
PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9\-]{0,62}$")
_KEY_BYTES = 32


@dataclass(frozen=True)
class ResearchProjects:
    """The projects configured in a data directory (read at each question: an operator's
    change applies to the next kick-off)."""

    data_dir: Path

    def clients(self) -> dict[str, frozenset[str]]:
        """Each project's clients (empty when nothing is configured)."""
        path = self.data_dir / PROJECTS_FILE
        if not path.is_file():
            return {}
        configured: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        projects = configured.get("projects") or {}
        return {
            name: frozenset(str(c) for c in (entry or {}).get("clients") or ())
            for name, entry in projects.items()
            if PROJECT_NAME.match(name)
        }

    def is_research_client(self, client_id: str) -> bool:
        """Whether the client is named in some project (de-identified exports only)."""
        return any(client_id in clients for clients in self.clients().values())

    def allows(self, project: str, client_id: str) -> bool:
        """Whether `client_id` may export for `project`."""
        return client_id in self.clients().get(project, frozenset())

    def pseudonyms(self, project: str) -> Pseudonyms:
        """The project's keyed pseudonyms (its key made on first use)."""
        if not PROJECT_NAME.match(project):
            raise ValueError("not a research project name")
        folder = self.data_dir / KEYS_FOLDER
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{project}.key"
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(handle, "wb") as out:
                out.write(secrets.token_bytes(_KEY_BYTES))
                out.flush()
                os.fsync(out.fileno())
        key = path.read_bytes()
        if len(key) < _KEY_BYTES:
            raise ValueError(f"the key of research project {project} is too short")
        return Pseudonyms(key)
