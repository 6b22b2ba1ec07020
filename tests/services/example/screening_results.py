"""An example collaboration service, written as a new contributor would: screening results.

The whole service is this module and one registration line (`serve --service
screening_results:SERVICE`, or `platform_services(extra=[SERVICE])`). It shows each kind
of rule a service may bring:

* a write rule: a screening result (an Observation coded in `SCREENING`) names when it
  was issued, else 422;
* an access rule: the citizen sees a result `RELEASE_DELAY` after it was issued, so the
  clinician can call first (the lab results' delay will be one like it); the clock is the
  policy's `now`;
* an operation, `GET Patient/{id}/$screening-summary`: how many results the caller may see,
  found through the guarded search (so the access rule applies to it as well).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from samhandling.auth.access_rules import AccessRequest, Refusal
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.guarded_search import guarded_search
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.service import Service

SCREENING = "urn:example:screening"
RELEASE_DELAY = timedelta(days=14)


def is_screening_result(resource: dict[str, Any] | None) -> bool:
    """An Observation with a code from the screening code system."""
    if not resource or resource.get("resourceType") != "Observation":
        return False
    codings = (resource.get("code") or {}).get("coding") or []
    return any(c.get("system") == SCREENING for c in codings if isinstance(c, dict))


class ScreeningResultsNameTheirIssue:
    """Write rule: a screening result says when it was issued."""

    def applies(self, context: WriteContext) -> bool:
        return is_screening_result(context.new)

    def check(self, context: WriteContext) -> None:
        if not isinstance((context.new or {}).get("issued"), str):
            message = "A screening result must say when it was issued (Observation.issued)"
            raise FhirError(422, error("required", message, "Observation.issued"))


class ReleasedToCitizensAfterADelay:
    """Access rule: citizens see a screening result from `issued` + `RELEASE_DELAY`."""

    def refusal(self, request: AccessRequest) -> Refusal | None:
        if request.principal.kind != "citizen" or not is_screening_result(request.resource):
            return None
        try:
            issued = datetime.fromisoformat(str((request.resource or {}).get("issued")))
        except ValueError:  # no time to count from: not shown (deny by default)
            issued = datetime.max.replace(tzinfo=request.now.tzinfo) - RELEASE_DELAY
        if issued.tzinfo is None or request.now < issued + RELEASE_DELAY:
            return "the screening result is not released to the patient yet", "screening.delay"
        return None


def screening_summary(context: OperationContext) -> OperationResult:
    """How many screening results of the patient the caller may see."""
    items = [("patient", f"Patient/{context.resource_id}"), ("code", f"{SCREENING}|")]
    found = guarded_search(
        context.connection, "Observation", items, context.base_url, context.guard
    )
    count = sum(1 for e in found.get("entry", []) if e.get("search", {}).get("mode") == "match")
    parameter = [{"name": "count", "valueInteger": count}]
    return OperationResult({"resourceType": "Parameters", "parameter": parameter})


SERVICE = Service(
    name="screening-results",
    operations=(
        Operation(
            "screening-summary",
            "instance",
            "Patient",
            screening_summary,
            permission="r",
            methods=("GET",),
            description="How many of the patient's screening results the caller may see.",
            parameters=(("count", "out", 1, "1", "integer"),),
        ),
    ),
    write_rules=(ScreeningResultsNameTheirIssue(),),
    access_rules=(ReleasedToCitizensAfterADelay(),),
)
