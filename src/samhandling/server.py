"""The composition root of a running server: the API's application with the web views.

`api` and `web` sit side by side in the layers and never import each other; this module,
above both, puts them together. `samhandling serve` runs `create_app_from_env`.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence

from sqlalchemy import Engine
from starlette.applications import Starlette

from samhandling.api.app import create_app as create_api_app
from samhandling.config import Settings, settings_from_env
from samhandling.observability.json_logging import configure_logging
from samhandling.services.service import Service
from samhandling.web import web_views


def create_app(
    settings: Settings, engine: Engine | None = None, services: Sequence[Service] | None = None
) -> Starlette:
    """The whole application: the FHIR API, the development issuer and the web views."""
    return create_api_app(settings, engine, services, front_ends=(web_views,))


def create_app_from_env() -> Starlette:
    """App factory for `uvicorn --factory` worker processes (settings from SAMHANDLING_*)."""
    settings = settings_from_env()
    configure_logging(settings.log_level)
    app = create_app(settings)
    freeze_start_up_objects()
    space_young_collections()
    return app


def freeze_start_up_objects() -> int:
    """Keep what the server built at start-up out of the garbage collector's full passes;
    the number of objects moved.

    A server process holds ≈ 170,000 long-lived container objects from its start (the
    definitions, the search parameter registry, the validation's structures, compiled
    paths). A full (generation-2) collection of CPython's cyclic collector walks all of
    them, and request work that allocates many containers (a Bundle's entries) sets one
    off every few seconds: ≈ 95 ms each, an eighth of the server's CPU under measurement
    ingest (bench/RESULTS.md, "The start-up objects frozen"). `gc.freeze()` moves every
    object tracked now to the permanent generation, which collections do not walk; the
    garbage start-up left is collected first, as the `gc` documentation advises, since
    frozen objects are never collected. Only the server process does this (`serve`'s
    factory): a test process building many applications would keep their cycles."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


# Net container allocations between two collections of the youngest generation (CPython's
# default is 700). See `space_young_collections`.
YOUNG_GENERATION_THRESHOLD = 50_000


def space_young_collections() -> tuple[int, int, int]:
    """Collect the youngest generation after `YOUNG_GENERATION_THRESHOLD` net container
    allocations instead of 700; the thresholds now in force.

    A request's work allocates and frees containers by the thousand (a Bundle of 100
    measurements parsed is ≈ 5,000), so at 700 the collector ran ≈ 150 times a second
    under ingest and walked whatever of the requests in flight was young, promoting it, so
    that the middle and oldest generations' passes followed: ≈ 1.2 s of every 20 s of
    ingest (bench/RESULTS.md, "Young collections spaced"). Most of those containers are
    freed by reference counting before the next pass, so spacing the passes leaves less
    to walk and to promote; what is garbage only through a cycle waits a little longer
    (at most 50,000 containers, a few MB). The older generations keep their thresholds,
    counted in passes of the younger one. Only `serve`'s factory does this."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, oldest)
    return gc.get_threshold()
