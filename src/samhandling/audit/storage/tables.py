"""Tables of the audit trail (on the same metadata as the rest of the schema).

`audit_event` rows get their place in the hash chain (`chain_pos`, `prev_hash`, `hash`)
from a chained batch (`audit/storage/writes.py`): the journal's rows as they are inserted,
the rows of write transactions (inserted with `chain_pos` NULL) by the next batch.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, LargeBinary, String, Table

from samhandling.store.schema import RID, metadata

audit_event = Table(
    "audit_event",
    metadata,
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("recorded_at_us", BigInteger, nullable=False),
    Column("interaction", String(60), nullable=False),
    Column("action", String(1), nullable=False),
    Column("outcome", String(2), nullable=False),
    Column("http_status", Integer, nullable=False),
    Column("agent_kind", String(20), nullable=True),
    Column("agent_hpr", String(20), nullable=True),
    Column("agent_org", String(20), nullable=True),
    Column("purpose_of_use", String(20), nullable=True),
    Column("emergency", Boolean, nullable=False, default=False),
    Column("content", LargeBinary, nullable=False),
    Column("chain_pos", BigInteger, nullable=True, unique=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    Index("ix_audit_event_recorded", "recorded_at_us"),
    Index("ix_audit_event_agent_hpr", "agent_hpr"),
    Index("ix_audit_event_agent_org", "agent_org", "recorded_at_us"),
)
# Only the rows waiting for their link (a few at a time): no cost for the journal's rows.
_UNSEALED = audit_event.c.chain_pos.is_(None)
Index(
    "ix_audit_event_unsealed",
    audit_event.c.event_id,
    postgresql_where=_UNSEALED,
    sqlite_where=_UNSEALED,
)

# The patients an event concerns (the citizen's access log reads this).
audit_patient = Table(
    "audit_patient",
    metadata,
    Column("event_id", BigInteger, primary_key=True),
    Column("patient_id", RID, primary_key=True),
    Index("ix_audit_patient_patient", "patient_id", "event_id"),
)

# Where the chain continues after records were archived (and which archive holds them).
audit_anchor = Table(
    "audit_anchor",
    metadata,
    Column("anchor_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("chain_pos", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("archived_at_us", BigInteger, nullable=False),
    Column("archive_name", String(200), nullable=False),
    Column("archive_sha256", String(64), nullable=False),
)
