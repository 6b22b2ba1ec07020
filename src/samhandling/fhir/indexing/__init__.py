"""Index-value extraction: the typed rows a resource is indexed by (``values.py``)."""
