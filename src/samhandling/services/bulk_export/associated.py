"""The Provenance of a bulk export (`includeAssociatedData`, Bulk Data 2.0): one walk of
the snapshot's Provenance writes each Provenance at most once, when it is

- of the export itself (`Provenance` among the job's types, in its selection), or
- associated with an exported resource: `RelevantProvenanceResources`, every Provenance
  whose `target` is a resource the export writes; `LatestProvenanceResources`, the most
  recent (`recorded`, then `meta.lastUpdated`) of those for each exported resource.

Only Provenance the client may read: withheld ones (labels) are left out and never
counted as the latest; a Provenance `_typeFilter` applies to all of them. The exported
resources are found as their own walk finds them (the job's selection of their type,
its filters, the labels), each batch's targets read from the snapshot by id. In a
de-identified export a Provenance is shifted by the patient of its compartment and of
its targets' compartments; one whose targets are in several patients' compartments has
no single shift and is left out (docs/BULK_EXPORT.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from samhandling.interactions.provenance_targets import provenance_targeting
from samhandling.services.bulk_export.kickoff_parameters import LATEST
from samhandling.services.bulk_export.shaping import Row, Shaping, withheld_from_systems
from samhandling.store.database import Connection
from samhandling.store.export_queries import SnapshotSelection, snapshot_batch

PROVENANCE = "Provenance"
_REFERENCE = re.compile(r"^([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_IDS_PER_QUERY = 500
_EARLIEST = datetime.min


def walks_provenance(parameters: dict[str, Any]) -> bool:
    """Whether a job writes its Provenance by this walk: it asked associated data, or it
    is de-identified and exports Provenance (shifted by their targets' patients)."""
    if parameters.get("associated"):
        return True
    return bool(parameters.get("deidentify")) and PROVENANCE in parameters["types"]


def phases(parameters: dict[str, Any]) -> list[str]:
    """The types a job writes, in order (Provenance last when associated data comes)."""
    types = list(parameters["types"])
    if parameters.get("associated") and PROVENANCE not in types:
        types.append(PROVENANCE)
    return types


@dataclass(frozen=True)
class ProvenanceChoice:
    """Which rows of a Provenance batch the job writes (and with whose date shift).

    `own`: the job's selection of Provenance when it exports the type (None otherwise);
    `targets`: the job's selection and its filters for each other exported type."""

    snapshot_tx: int
    associated: str | None
    own: SnapshotSelection | None
    targets: dict[str, tuple[SnapshotSelection, Shaping]]
    provenance_filter: Shaping
    deidentified: bool
    base_url: str | None = None

    def __call__(self, connection: Connection, rows: list[Row]) -> list[Row]:
        readable = self._readable(connection, rows)
        own = self._own(connection, readable)
        pointed = {row[0]: self.targets_of(row[2]) for row in readable}
        every = set().union(*pointed.values()) if pointed else set()
        exported = self._exported(connection, every) if self.associated else {}
        if self.associated == LATEST:
            latest = self._latest(connection, set(exported), readable)
            associated = {rid for rid in pointed if rid in latest}
        else:
            associated = {rid for rid, refs in pointed.items() if refs & exported.keys()}
        patients = self._patients(connection, every) if self.deidentified else {}
        chosen = []
        for rid, patient_id, resource in readable:
            if rid not in own and rid not in associated:
                continue
            shifts = {patient_id, *(patients.get(r) for r in pointed[rid])} - {None}
            if len(shifts) > 1:
                continue  # de-identified: no one patient's shift fits all its targets
            chosen.append((rid, next(iter(shifts), None), resource))
        return chosen

    def targets_of(self, provenance: dict[str, Any]) -> set[str]:
        """The `Type/id` of this server's resources a Provenance targets."""
        found = set()
        for target in provenance.get("target") or []:
            reference = (target or {}).get("reference")
            if not isinstance(reference, str):
                continue
            if self.base_url and reference.startswith(self.base_url.rstrip("/") + "/"):
                reference = reference[len(self.base_url.rstrip("/")) + 1 :]
            match = _REFERENCE.match(reference)
            if match is not None:
                found.add(f"{match.group(1)}/{match.group(2)}")
        return found

    def _readable(self, connection: Connection, rows: list[Row]) -> list[Row]:
        kept = [row for row in rows if not withheld_from_systems(row[2])]
        return self.provenance_filter.matching(connection, PROVENANCE, kept)

    def _own(self, connection: Connection, rows: list[Row]) -> set[str]:
        if self.own is None or not rows:
            return set()
        return {row[0] for row in _at_snapshot(connection, self.own, [r[0] for r in rows])}

    def _exported(self, connection: Connection, references: set[str]) -> dict[str, str | None]:
        """Those of `references` the export writes, with their compartment's patient."""
        found: dict[str, str | None] = {}
        for resource_type, ids in _by_type(references).items():
            if resource_type not in self.targets:
                continue
            selection, shaping = self.targets[resource_type]
            rows = shaping.matching(
                connection, resource_type, _at_snapshot(connection, selection, ids)
            )
            for rid, patient_id, resource in rows:
                if not withheld_from_systems(resource):
                    found[f"{resource_type}/{rid}"] = patient_id
        return found

    def _patients(self, connection: Connection, references: set[str]) -> dict[str, str | None]:
        """The compartment's patient of each of `references` in the snapshot."""
        found: dict[str, str | None] = {}
        for resource_type, ids in _by_type(references).items():
            selection = SnapshotSelection(resource_type, self.snapshot_tx)
            for rid, patient_id, _resource in _at_snapshot(connection, selection, ids):
                found[f"{resource_type}/{rid}"] = patient_id
        return found

    def _latest(self, connection: Connection, exported: set[str], batch: list[Row]) -> set[str]:
        """The ids of the most recent readable Provenance of each of `exported`, among
        all of the snapshot's (not only this batch's)."""
        known = {row[0] for row in batch}
        others = provenance_targeting(connection, sorted(exported), self.base_url) - known
        walk = SnapshotSelection(PROVENANCE, self.snapshot_tx)
        candidates = batch + self._readable(connection, _at_snapshot(connection, walk, others))
        best: dict[str, tuple[tuple[datetime, datetime, str], str]] = {}
        for rid, _patient_id, resource in candidates:
            key = (_instant(resource.get("recorded")), _last_updated(resource), rid)
            for reference in self.targets_of(resource) & exported:
                if reference not in best or key > best[reference][0]:
                    best[reference] = (key, rid)
        return {rid for _key, rid in best.values()}


def _at_snapshot(connection: Connection, selection: SnapshotSelection, ids: Any) -> list[Row]:
    """The rows of `selection` among `ids`, read in bounded chunks."""
    ordered = sorted(ids)
    found: list[Row] = []
    for start in range(0, len(ordered), _IDS_PER_QUERY):
        chunk = tuple(ordered[start : start + _IDS_PER_QUERY])
        found += snapshot_batch(connection, replace(selection, ids=chunk), "", len(chunk))
    return found


def _by_type(references: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for reference in references:
        resource_type, _, rid = reference.partition("/")
        found.setdefault(resource_type, []).append(rid)
    return found


def _instant(value: Any) -> datetime:
    """An instant as a comparable naive UTC time (the earliest for a missing or bad one)."""
    if not isinstance(value, str):
        return _EARLIEST
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _EARLIEST
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(UTC).replace(tzinfo=None)


def _last_updated(resource: dict[str, Any]) -> datetime:
    return _instant((resource.get("meta") or {}).get("lastUpdated"))
