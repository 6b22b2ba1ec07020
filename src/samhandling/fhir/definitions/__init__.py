"""Generated FHIR R4 definitions (data files only); see tools/build_r4_definitions.py."""
