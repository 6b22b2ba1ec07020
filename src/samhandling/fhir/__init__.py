"""FHIR R4 spec knowledge: validation, search parameters, index values, bundles, patch."""
