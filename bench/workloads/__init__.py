"""Workloads: each module has a harness side (`prepare…`, run before the load) and a generator
side (`make_source(params, rng)`, run inside the load-generator process).

| workload | module | what it measures |
|---|---|---|
| ingest | ingest | Synthea transaction Bundles POSTed to /fhir; resources per second |
| read | reads | GET Type/id of stored resources (also against the bare ceiling app) |
| search | search | a set of typical searches with values taken from the stored data |
| create | crud | POST of single resources (compared with the driver ceiling, batch size 1) |
| crud | crud | the C10/R60/U25/D5 mix over the five CRUD_TYPES |
| critical-information | critical_information | indicator and summary (`--database`, demo data) |
| medication-list | medication_list | list read and guarded update, as a GP (`--database`) |
| lab-results | lab_results | `$lastn` and a 5-year `$trend`, as a GP (`--database`) |
"""

CRUD_TYPES = ("Patient", "Observation", "Condition", "Encounter", "MedicationRequest")
