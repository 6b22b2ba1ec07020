"""The FHIR RESTful interactions (R4 §3.1.0), independent of HTTP: used by the API,
by batch/transaction Bundles and by the importer alike."""
