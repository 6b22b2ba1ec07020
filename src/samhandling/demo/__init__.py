"""The synthetic Norwegian demo population and the example register (`register-bundle.json`).

bundles = population_bundles(patients=100, seed=1)   # register first, then citizens
load_bundles(engine, bundles, base_url)              # through process_bundle
"""

from __future__ import annotations

from samhandling.demo.loader import DemoLoadError, load_bundles
from samhandling.demo.population import population_bundles, register_bundle

__all__ = ["DemoLoadError", "load_bundles", "population_bundles", "register_bundle"]
