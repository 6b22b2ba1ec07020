"""Each producer's document types mapped to the national ones (9602), by `ConceptMap`.

A producer (a hospital's EPJ, a GP system) publishes one ConceptMap (status `active`)
from its local code system (`group.source`) to 9602 (`group.target`); its local system is
its own, so the map is the producer's. On provide (`translate_type`), a DocumentReference
whose `type` has no 9602 coding gets the mapped one added beside the local coding (the
first `equivalent`/`equal`/`wider`/`narrower`... match; `unmatched`/`disjoint` never map),
and a `category` without a 9602 class gets the class of the type (9602 types `X01-2` sit
under the class `X00-1`).

`ConceptMap/$translate` and `ConceptMap/{id}/$translate` (R4 §4.10.18, `system`, `code`,
`coding`, `target`/`targetsystem`, `url`) answer the same look-up over the stored maps.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import read
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.interactions.search import search
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.document_sharing.metadata import VOLVEN_9602, codings
from samhandling.store.database import Connection
from samhandling.terminology.codes import lookup

MAPPING = frozenset({"relatedto", "equivalent", "equal", "wider", "subsumes", "narrower",
                     "specializes", "inexact"})  # fmt: skip
MAX_MAPS = 50


def active_maps(connection: Connection, source: str, target: str | None) -> list[dict[str, Any]]:
    """The active ConceptMaps from `source` (to `target`, when given), searched once per
    transaction: a migration provides hundreds of documents in one, and each search would
    make the transaction's index buffer insert its queued rows first. A ConceptMap written
    in the transaction forgets what was found (`ConceptMapWritten`)."""
    memo = _memo(connection)
    key = (source, target)
    if memo is not None and key in memo:
        return memo[key]
    items = [("source-system", source), ("status", "active"), ("_count", str(MAX_MAPS))]
    if target:
        items.append(("target-system", target))
    bundle = search(connection, "ConceptMap", items, "")
    found = [e["resource"] for e in bundle["entry"] if e.get("search", {}).get("mode") == "match"]
    if memo is not None:
        memo[key] = found
    return found


_MEMO_KEY = "samhandling.document_sharing.active_maps"
Memo = dict[tuple[str, str | None], list[dict[str, Any]]]


def _memo(connection: Connection) -> Memo | None:
    """The maps found in the connection's current transaction (none outside one). The
    info dictionary outlives the transaction (it is the pooled connection's), so the memo
    is kept with the transaction it belongs to."""
    transaction = connection.get_transaction()
    if transaction is None:
        return None
    kept = connection.info.get(_MEMO_KEY)
    if kept is None or kept[0] is not transaction:
        kept = (transaction, {})
        connection.info[_MEMO_KEY] = kept
    memo: Memo = kept[1]
    return memo


class ConceptMapWritten:
    """Write rule: a ConceptMap written (or deleted) makes the transaction search the maps
    again (`active_maps`)."""

    resource_types = frozenset({"ConceptMap"})  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        return context.resource_type == "ConceptMap"

    def check(self, context: WriteContext) -> None:
        context.writer.connection.info.pop(_MEMO_KEY, None)


def matches(
    concept_map: dict[str, Any], source: str, code: str, target: str | None
) -> Iterator[tuple[str, str, str, str | None]]:
    """(target system, target code, equivalence, display) of each mapping of the code."""
    for group in concept_map.get("group") or []:
        if group.get("source") != source or (target and group.get("target") != target):
            continue
        for element in group.get("element") or []:
            if element.get("code") != code:
                continue
            for item in element.get("target") or []:
                equivalence = item.get("equivalence", "equivalent")
                if equivalence in MAPPING and item.get("code"):
                    yield group.get("target", ""), item["code"], equivalence, item.get("display")


def translate_type(connection: Connection, document: dict[str, Any]) -> dict[str, Any]:
    """`document` with its local type mapped to 9602 by its producer's ConceptMap, and the
    class derived from the type when the category has none."""
    concept = document.get("type")
    if not isinstance(concept, dict):
        return _with_class(document)
    found = list(codings(concept))
    if found and not any(system == VOLVEN_9602 for system, _ in found):
        for system, code in found:
            mapped = _national(connection, system, code)
            if mapped is not None:
                concept = {**concept, "coding": [*concept.get("coding", []), mapped]}
                document = {**document, "type": concept}
                break
    return _with_class(document)


def _national(connection: Connection, system: str, code: str) -> dict[str, Any] | None:
    for concept_map in active_maps(connection, system, VOLVEN_9602):
        for _target, national, _equivalence, display in matches(
            concept_map, system, code, VOLVEN_9602
        ):
            known = lookup(VOLVEN_9602, national)
            coding = {"system": VOLVEN_9602, "code": national}
            text = known.display if known is not None else display
            return {**coding, "display": text} if text else coding
    return None


def _with_class(document: dict[str, Any]) -> dict[str, Any]:
    types = [code for system, code in codings(document.get("type")) if system == VOLVEN_9602]
    categories = document.get("category") or []
    has_class = any(s == VOLVEN_9602 for c in categories for s, _ in codings(c))
    if not types or has_class or len(types[0]) < 1:
        return document
    klass = lookup(VOLVEN_9602, types[0][0] + "00-1")
    if klass is None:
        return document
    coding = {"system": VOLVEN_9602, "code": klass.code, "display": klass.display}
    return {**document, "category": [*categories, {"coding": [coding]}]}


def translate(context: OperationContext) -> OperationResult:
    """`$translate`: the mappings of a code in the stored maps (or the one named)."""
    system, code = _source(context)
    target = context.text("targetsystem") or context.text("target")
    if context.resource_id is not None:
        maps = [read.read(context.connection, "ConceptMap", context.resource_id, context.guard)]
        found = [m.resource() for m in maps]
    else:
        found = active_maps(context.connection, system, None)
        url = context.text("url")
        found = [m for m in found if url is None or m.get("url") == url]
    parameters: list[dict[str, Any]] = []
    for concept_map in found:
        for target_system, target_code, equivalence, display in matches(
            concept_map, system, code, target
        ):
            coding = {"system": target_system, "code": target_code}
            if display:
                coding["display"] = display
            parts = [
                {"name": "equivalence", "valueCode": equivalence},
                {"name": "concept", "valueCoding": coding},
                {"name": "source", "valueUri": concept_map.get("url", "")},
            ]
            parameters.append({"name": "match", "part": parts})
    result = {"name": "result", "valueBoolean": bool(parameters)}
    if not parameters:
        message = {"name": "message", "valueString": f"No mapping of {system}#{code} is known"}
        parameters.append(message)
    return OperationResult({"resourceType": "Parameters", "parameter": [result, *parameters]})


def _source(context: OperationContext) -> tuple[str, str]:
    coding = context.parameter("coding")
    if isinstance(coding, dict):
        system, code = coding.get("system"), coding.get("code")
    else:
        system, code = context.text("system"), context.text("code")
    if not isinstance(system, str) or not isinstance(code, str) or not system or not code:
        raise FhirError(400, error("required", "$translate needs system and code (or coding)"))
    return system, code


_PARAMETERS = (
    ("url", "in", 0, "1", "uri"),
    ("system", "in", 0, "1", "uri"),
    ("code", "in", 0, "1", "code"),
    ("coding", "in", 0, "1", "Coding"),
    ("targetsystem", "in", 0, "1", "uri"),
    ("result", "out", 1, "1", "boolean"),
    ("message", "out", 0, "1", "string"),
    ("match", "out", 0, "*", "Element"),
)

OPERATIONS = [
    Operation(
        "translate",
        level,
        "ConceptMap",
        translate,
        permission="",
        methods=("GET", "POST"),
        description="Translate a code by the stored ConceptMaps (a producer's document "
        "types to the national 9602 types).",
        parameters=_PARAMETERS,
    )
    for level in ("type", "instance")
]
