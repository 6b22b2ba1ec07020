"""The service's write rules (`interactions.write_rules.WriteRule`).

* `BlockLabelKeptOnWrites`: only `$block` and `$unblock` (writes with their intent) set or
  lift the block label. A plain create, update or patch that adds one is refused (422); one
  that drops or changes it gets the current block back (a lab's correction of a blocked
  report stays blocked), with a warning.
* `ResultsNameLabAndIssue`: a lab result in the national shape (NILAR: a category of
  Volven 8202, or a code of NLK/NORPAT) names when it was issued (`issued`, with its time
  zone) and the performing laboratory by organisation number (a `performer` whose
  `identifier` is an organisation number, urn:oid:2.16.578.1.12.4.1.4.101), else 422.
  Results in other shapes (Synthea's) are recognised for access but not held to it.
* `NlkCodesValid`: a result's NLK codes (under any of NLK's three system URIs) are checked
  against the bundled NLK subset and NLK's code structure (terminology `validate_code`): a
  malformed code is refused (422 at the coding), a wrong display is a warning.
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import FhirError, Issue, error
from samhandling.identifiers.identifier_systems import (
    ORGANISATION_NUMBER_SYSTEM,
    check_identifier,
)
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.lab_results.access import issued_time
from samhandling.services.lab_results.labels import (
    BLOCKABLE_TYPES,
    block_codings,
    with_block_labels,
)
from samhandling.services.lab_results.release_delays import RESULT_TYPES
from samhandling.terminology.codes import validate_code
from samhandling.terminology.content import NLK_SYSTEM

BLOCK, UNBLOCK = "block", "unblock"
EXPERTISE_8202 = "http://ehelse.no/fhir/CodeSystem/no-kodeverk-8202"
NLK_SYSTEMS = frozenset(
    {
        NLK_SYSTEM,
        "http://helsedir.no/fhir/CodeSystem/no-kodeverk-7280-nlk",
        "urn:oid:2.16.578.1.12.4.1.1.7280",
    }
)
NATIONAL_CODE_SYSTEMS = NLK_SYSTEMS | {"http://ehelse.no/fhir/CodeSystem/no-kodeverk-7010-norpat"}


class BlockLabelKeptOnWrites:
    """Write rule: the block label changes only through `$block` and `$unblock`."""

    resource_types = BLOCKABLE_TYPES  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        if context.resource_type not in BLOCKABLE_TYPES or context.new is None:
            return False
        if context.intent in (BLOCK, UNBLOCK):
            return False
        return bool(block_codings(context.before) or block_codings(context.new))

    def check(self, context: WriteContext) -> None:
        assert context.new is not None
        kept, written = block_codings(context.before), block_codings(context.new)
        if written and not kept:
            message = "Only $block can withhold a lab result from the patient"
            raise FhirError(422, error("business-rule", message, "meta.security"))
        if written != kept:
            context.new = with_block_labels(context.new, kept)
            message = "The result stays blocked: only $unblock lifts the block"
            context.warnings.append(Issue("warning", "business-rule", message, ("meta.security",)))


class ResultsNameLabAndIssue:
    """Write rule: a national-shape lab result names its issue time and its laboratory."""

    resource_types = RESULT_TYPES  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        new = context.new
        return context.resource_type in RESULT_TYPES and new is not None and is_national(new)

    def check(self, context: WriteContext) -> None:
        assert context.new is not None
        rtype = context.resource_type
        if issued_time(context.new) is None:
            message = "A lab result must say when it was issued, with its time zone"
            raise FhirError(422, error("required", message, f"{rtype}.issued"))
        found = [performer_organisation(p) for p in context.new.get("performer") or []]
        if not any(number for number, _ in found):
            problems = "; ".join(problem for _, problem in found if problem)
            message = "A lab result must name the performing laboratory by organisation number"
            raise FhirError(
                422,
                error(
                    "required",
                    f"{message}{': ' + problems if problems else ''}",
                    f"{rtype}.performer",
                ),
            )


class NlkCodesValid:
    """Write rule: a lab result's NLK codes are NLK codes (bundled, or well-formed)."""

    resource_types = RESULT_TYPES  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        new = context.new
        if context.resource_type not in RESULT_TYPES or new is None:
            return False
        return any(c.get("system") in NLK_SYSTEMS for c in _codings(new.get("code")))

    def check(self, context: WriteContext) -> None:
        assert context.new is not None
        for index, coding in enumerate(_codings(context.new.get("code"))):
            if coding.get("system") not in NLK_SYSTEMS:
                continue
            where = f"{context.resource_type}.code.coding[{index}]"
            code, display = coding.get("code"), coding.get("display")
            checked = validate_code(
                NLK_SYSTEM,
                code if isinstance(code, str) else "",
                display if isinstance(display, str) else None,
            )
            if not checked.valid:
                raise FhirError(422, error("code-invalid", str(checked.message), f"{where}.code"))
            if checked.warning:
                issue = Issue("warning", "code-invalid", checked.warning, (f"{where}.display",))
                context.warnings.append(issue)


def is_national(resource: dict[str, Any]) -> bool:
    """A result in the national shape: an 8202 category or an NLK/NORPAT code."""
    # plain loops: asked of every Observation written, most of them no lab result
    categories = resource.get("category") or []
    for concept in categories if isinstance(categories, list) else [categories]:
        for coding in _codings(concept):
            if coding.get("system") == EXPERTISE_8202:
                return True
    for coding in _codings(resource.get("code")):
        if coding.get("system") in NATIONAL_CODE_SYSTEMS:
            return True
    return False


def _codings(concept: Any) -> list[dict[str, Any]]:
    found = concept.get("coding") if isinstance(concept, dict) else None
    if not found:
        return []
    return [c for c in found if isinstance(c, dict)]


def performer_organisation(performer: Any) -> tuple[str | None, str | None]:
    """(organisation number, None) when the performer names a valid one, else (None, why)."""
    identifier = performer.get("identifier") if isinstance(performer, dict) else None
    if not isinstance(identifier, dict) or identifier.get("system") != ORGANISATION_NUMBER_SYSTEM:
        return None, None
    value = identifier.get("value")
    problem = check_identifier(ORGANISATION_NUMBER_SYSTEM, value if isinstance(value, str) else "")
    return (None, problem) if problem else (str(value), None)
