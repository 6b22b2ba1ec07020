"""identity: validation and classification of Norwegian identifiers (see ``identifiers``)."""

from samhandling.identity.identifiers import *  # noqa: F403
from samhandling.identity.identifiers import __all__ as __all__
