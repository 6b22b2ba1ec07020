"""The Synthea test data: which files, in which order, and how to read them."""

from __future__ import annotations

import bz2
import os
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent
# The shared test data, as the test suite finds it ($SAMHANDLING_SHARED_DATA).
_BESIDE_REPO = REPO.parent / "shared" / "data"
SHARED_DATA = Path(
    os.environ.get(
        "SAMHANDLING_SHARED_DATA",
        _BESIDE_REPO if _BESIDE_REPO.is_dir() else "/work/shared/data",
    )
)
DEFAULT_DIR = SHARED_DATA / "synthea"


def bundle_files(directory: Path) -> tuple[list[Path], list[Path]]:
    """(shared-entity files `0-*` that must load first, patient files), each sorted by name."""
    files = sorted(
        p for p in directory.iterdir() if p.name.endswith((".json", ".json.bz2", ".ndjson"))
    )
    shared = [p for p in files if p.name.startswith("0-")]
    return shared, [p for p in files if not p.name.startswith("0-")]


def read_bytes(path: Path) -> bytes:
    """The JSON text of one Bundle file (decompressed)."""
    raw = path.read_bytes()
    return bz2.decompress(raw) if path.suffix == ".bz2" else raw


def read_bundle(path: Path) -> dict[str, Any]:
    bundle: dict[str, Any] = orjson.loads(read_bytes(path))
    return bundle


def entry_count(raw: bytes) -> int:
    return len(orjson.loads(raw).get("entry", []))
