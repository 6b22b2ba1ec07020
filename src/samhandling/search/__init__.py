"""FHIR search: parsing a query against the search-parameter registry and running it."""
