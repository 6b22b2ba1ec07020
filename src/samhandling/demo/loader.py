"""Loading demo Bundles through the same transaction code as the API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from samhandling.access_guard import OPEN_ACCESS
from samhandling.interactions.bundle import process_bundle
from samhandling.interactions.write_rules import WriteRule


class DemoLoadError(RuntimeError):
    """An entry of a demo Bundle was refused (the message names it)."""


def load_bundles(
    engine: Engine,
    bundles: list[dict[str, Any]],
    base_url: str,
    *,
    rules: Sequence[WriteRule],
) -> Counter[str]:
    """Process each transaction Bundle (trusted, OPEN_ACCESS, under the services' write
    `rules`); the count per resource type."""
    counts: Counter[str] = Counter()
    for bundle in bundles:
        response = process_bundle(engine, bundle, base_url, guard=OPEN_ACCESS, rules=rules)
        for request, answer in zip(bundle["entry"], response["entry"], strict=True):
            status = answer.get("response", {}).get("status", "")
            if not status.startswith(("200", "201")):
                raise DemoLoadError(f"{request['request']['url']}: {status}")
            counts[request["resource"]["resourceType"]] += 1
    return counts
