"""Whether a consumer's search is passed on to the peers, and what the peers are sent.

The peers answer the gateway's credentials, not the consumer's, so the gateway decides
first (deny by default) and passes on only:

- a first page of a `DocumentReference` type search (ITI-67), or of a `List` search by an
  MHD list type (`code=…MHDlistTypes|submissionset` or `|folder`: ITI-66) (later pages
  are the local engine's; the first page carried the peers' answers), not one a peer sent
  (`FEDERATION_HEADER`);
- by `patient.identifier` with one national ID (`urn:oid:2.16.578.1.12.4.1.4.1|<fnr>`):
  the only patient reference two areas share (ITI-67 with the patient's identifier, as
  XCA's Registry Stored Query uses the patient id of the affinity domain);
- for health personnel and systems the policy lets search the type; a clinician whose
  attestation names patients, only for one of them. Citizens are not federated (the peer
  would see the gateway, not the citizen, and could not apply what the citizen may see);
  they are told so in the answer.

Anything else is answered from this area only; when peers could have held documents, an
information issue says that they were not asked and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from samhandling.auth.labels import labels_of
from samhandling.auth.policy_rules import check_clinician_labels
from samhandling.auth.principal import Principal
from samhandling.fhir.outcome import Issue, operation_outcome
from samhandling.search.query import PAGING_PARAMETERS
from samhandling.services.search_federation import FEDERATION_HEADER, FederatedQuery

COVERED_TYPES = frozenset({"DocumentReference", "List"})
#: Lists are passed on only as ITI-66 (Find Document Lists): by an MHD list type
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
MHD_LIST_CODES = frozenset({"submissionset", "folder"})
NATIONAL_ID_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
PATIENT_PARAMETER = "patient.identifier"
#: not passed on: paging belongs to this server, formats to the gateway's own answer
NOT_PASSED_ON = PAGING_PARAMETERS | {"_format", "_pretty"}


@dataclass(frozen=True)
class Asking:
    """A search to pass on: its parameters and the consumer's attestation."""

    resource_type: str
    params: list[tuple[str, str]]
    principal: Principal


@dataclass(frozen=True)
class NotAsked:
    """A search answered locally although peers exist, with the reason (None: silently,
    as for searches the federation has nothing to do with)."""

    reason: str | None = None

    def local_items(self, items: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
        return items

    async def merged(self, bundle: dict[str, Any]) -> dict[str, Any]:
        if self.reason is None:
            return bundle
        note = Issue("information", "informational", f"Other areas were not asked: {self.reason}")
        entry = {"resource": operation_outcome([note]), "search": {"mode": "outcome"}}
        return {**bundle, "entry": [*bundle.get("entry", []), entry]}


SILENT = NotAsked()


def asking(query: FederatedQuery) -> Asking | NotAsked:
    """What to pass on for `query` (see the module doc). The policy is asked first: a
    consumer who may not search the type hears 403 before any peer is asked."""
    rtype = query.resource_type
    if rtype not in COVERED_TYPES or query.compartment is not None:
        return SILENT
    if rtype == "List" and not _finds_document_lists(query.items):
        return SILENT
    if FEDERATION_HEADER.lower() in {h.lower() for h in query.headers}:
        return SILENT
    if any(name in PAGING_PARAMETERS for name, _value in query.items):
        return SILENT
    query.guard.check_request("search", rtype)
    principal = query.guard.principal
    if principal is None or principal.kind == "citizen":
        return NotAsked("citizens are answered from this area's documents only")
    national_id = _national_id(query.items)
    if national_id is None:
        return NotAsked(
            f"they are asked only for a search by {PATIENT_PARAMETER}="
            f"{NATIONAL_ID_SYSTEM}|<national ID>"
        )
    attested = principal.attestation.patients if principal.attestation else ()
    if attested and national_id not in {p.pid for p in attested}:
        return NotAsked("the patient is not among the patients of the attestation")
    params = [(k, v) for k, v in query.items if k not in NOT_PASSED_ON]
    return Asking(rtype, params, principal)


def _national_id(items: list[tuple[str, str]]) -> str | None:
    values = [value for name, value in items if name == PATIENT_PARAMETER]
    if len(values) != 1:
        return None
    system, _, number = values[0].partition("|")
    if system != NATIONAL_ID_SYSTEM or len(number) != 11:
        return None
    return number if number.isascii() and number.isdigit() else None


def _finds_document_lists(items: list[tuple[str, str]]) -> bool:
    """An ITI-66 search: every `code` value names an MHD list type (SubmissionSet, Folder)."""
    values = [v for name, value in items if name == "code" for v in value.split(",")]
    return bool(values) and all(
        v in (f"{MHD_LIST_TYPES}|{code}" for code in MHD_LIST_CODES) for v in values
    )


def visible_to(principal: Principal, resource: dict[str, Any]) -> bool:
    """The gateway's own check of a peer's resource: its security labels, judged for the
    consumer as this area's policy would (the peer judged the gateway's token)."""
    labels = labels_of(resource)
    if principal.kind == "clinician":
        return check_clinician_labels(principal, labels) is None
    return not (labels.blocked_for_personnel or labels.very_restricted)
