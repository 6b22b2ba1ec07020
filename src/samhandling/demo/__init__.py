"""The synthetic Norwegian demo population and the example register (`register-bundle.json`).

platform = services.default_platform()
bundles = population_bundles(100, seed=1, hooks=platform.demo_hooks)  # register, citizens
load_bundles(engine, bundles, base_url, rules=platform.write_rules)    # via process_bundle
"""

from __future__ import annotations

from samhandling.demo.loader import DemoLoadError, load_bundles
from samhandling.demo.population import population_bundles, register_bundle

__all__ = ["DemoLoadError", "load_bundles", "population_bundles", "register_bundle"]
