"""Checkpoints of the chain head, kept outside the database: a removed tail is detected.

The hash chain shows a record altered, deleted or moved anywhere before the newest one,
but not the newest records removed together (what is left is an intact, shorter chain),
nor a chain rebuilt from some point on by someone who can write to the database and
compute hashes. A checkpoint — the head's position and hash at a moment — kept where the
database's administrators cannot rewrite it (another host, write-once storage, the log
pipeline) closes both: `chain.verify` checks that the chain still passes through every
checkpoint, so records can only vanish unnoticed after the newest checkpoint.

`samhandling audit checkpoint --to FILE` appends one, as a JSON line, after linking the
records still waiting; run it periodically (e.g. every few minutes from cron).
`samhandling audit verify --checkpoints FILE` checks them.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import Engine

from samhandling.audit.chain import Checkpoint, seal_pending
from samhandling.audit.storage.writes import chain_head
from samhandling.fhir.instants import format_instant, now_us


def take(engine: Engine) -> Checkpoint | None:
    """The chain head now, after linking what waits (None: the chain is empty)."""
    seal_pending(engine)
    with engine.connect() as connection:
        head = chain_head(connection)
    if head is None:
        return None
    return Checkpoint(head[0], head[1], format_instant(now_us()))


def append_to(path: Path, checkpoint: Checkpoint) -> None:
    """Add `checkpoint` to the file as one JSON line."""
    line = {"chain_pos": checkpoint.chain_pos, "hash": checkpoint.hash}
    with path.open("ab") as file:
        file.write(orjson.dumps({**line, "taken_at": checkpoint.taken_at}) + b"\n")


def read(path: Path) -> list[Checkpoint]:
    """The checkpoints in the file; ValueError names a line that is not one."""
    found = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
            taken_at = str(data.get("taken_at") or "")
            found.append(Checkpoint(int(data["chain_pos"]), str(data["hash"]), taken_at))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{number} is not a checkpoint ({exc})") from exc
    return found
