"""The shipped definitions cannot be changed through the API.

An update, patch or delete of a shipped StructureDefinition, CodeSystem, ValueSet or
OperationDefinition is 405 (the server validates against the package data, and the
operations are code; a changed copy would misstate them), and a
new resource that claims the canonical url of a shipped one is 422 (two definitions with
one url make `?url=` and `meta.profile` ambiguous). A new version comes with a new release
of the platform (`published.publish` at start).
"""

from __future__ import annotations

from samhandling.definitions.published import SHIPPED_TYPES, Shipped, shipped_urls
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.write_rules import WriteContext


class ShippedDefinitionsAreReadOnly:
    """The write rule that keeps the shipped definitions as the platform ships them."""

    resource_types = SHIPPED_TYPES  # `applies` accepts no other

    def __init__(self, shipped: Shipped) -> None:
        self.keys = frozenset(shipped)
        self.urls = shipped_urls(shipped)

    def applies(self, context: WriteContext) -> bool:
        return context.resource_type in SHIPPED_TYPES

    def check(self, context: WriteContext) -> None:
        rtype = context.resource_type
        if (rtype, context.resource_id) in self.keys:
            where = f"{rtype}/{context.resource_id}"
            message = f"{where} is shipped with the platform and cannot be changed"
            raise FhirError(405, error("not-supported", f"{message} ({context.method})"))
        url = (context.new or {}).get("url")
        if isinstance(url, str) and (rtype, url) in self.urls:
            message = f"The url {url} belongs to a {rtype} shipped with the platform"
            raise FhirError(422, error("business-rule", message, f"{rtype}.url"))
