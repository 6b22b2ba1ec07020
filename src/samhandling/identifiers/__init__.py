"""Norwegian identifiers: validation and classification (re-exported from ``identifiers.py``)."""

from samhandling.identifiers.identifiers import *  # noqa: F403
from samhandling.identifiers.identifiers import __all__ as __all__
