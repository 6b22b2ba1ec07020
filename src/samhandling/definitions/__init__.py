"""The definitions the platform ships (profiles, code systems, value sets) as FHIR resources."""
