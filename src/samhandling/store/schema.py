"""The storage schema: resource, version, typed index tables, compartment and outbox.

See docs/ARCHITECTURE.md ("Storage") for why it is shaped like this. Every row that belongs
to a clinical resource carries `patient_id`, the patient-compartment shard key, so that the
tables can be distributed by patient (e.g. Citus) without a redesign.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

metadata = MetaData()

# Resource ids are at most 64 characters (R4 §2.24.0.2 id datatype).
TYPE = String(64)
RID = String(64)
PARAM = String(100)


def _resource_key() -> list[Column]:
    return [
        Column("resource_type", TYPE, nullable=False),
        Column("resource_id", RID, nullable=False),
        Column("patient_id", RID, nullable=True),
        _shard_key(),
    ]


# The partition key of the patient-partitioned layout (store/layout.py, docs/SCALING.md):
# `patient_id`, or SHARDLESS for a resource in no patient's compartment. Written on both
# layouts; NOT NULL and in the primary key only on the partitioned one (NULL on the plain
# layout in rows written before migration 0022).
SHARDLESS = "~"  # not a valid resource id (R4 id datatype: [A-Za-z0-9\-\.]{1,64})


def _shard_key() -> Column:
    return Column("shard_key", RID, nullable=True)


transaction_log = Table(
    "transaction_log",
    metadata,
    Column("tx_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("committed_at_us", BigInteger, nullable=False),
)

resource = Table(
    "resource",
    metadata,
    Column("resource_type", TYPE, primary_key=True),
    Column("resource_id", RID, primary_key=True),
    Column("patient_id", RID, nullable=True),
    Column("version_id", Integer, nullable=False),
    Column("tx_id", BigInteger, nullable=False),
    Column("last_updated_us", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", LargeBinary, nullable=True),
    _shard_key(),
    # the current version's policy facts (store/policy_facts.py); NULL: judged from content
    Column("facts", LargeBinary, nullable=True),
    Index("ix_resource_type_updated", "resource_type", "last_updated_us"),
    Index("ix_resource_patient", "patient_id"),
)
# The current row as reads by id and the writer's look-ups take it: without `facts`, which
# only a search's judging reads (search/visibility.py).
RESOURCE_ROW = tuple(column for column in resource.c if column.key != "facts")

resource_version = Table(
    "resource_version",
    metadata,
    Column("resource_type", TYPE, primary_key=True),
    Column("resource_id", RID, primary_key=True),
    Column("version_id", Integer, primary_key=True),
    Column("patient_id", RID, nullable=True),
    Column("tx_id", BigInteger, nullable=False),
    Column("last_updated_us", BigInteger, nullable=False),
    Column("method", String(10), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", LargeBinary, nullable=True),
    _shard_key(),
    Index("ix_version_tx", "tx_id"),
    Index("ix_version_type_tx", "resource_type", "tx_id"),
)


# Index tables whose covering probe index (type, id, param) also serves every look-up by
# (type, id) — the deletes of a resource's rows, reindex —, so they have no
# `ix_<table>_resource (type, id)` of their own: one index less to write per row.
PROBED = ("index_token", "index_date")


# Index rows have no key of their own: nothing reads one row; a resource's rows are found
# and replaced by (type, id). SQLite's tables keep their `row_id` INTEGER PRIMARY KEY (the
# rowid itself, which FTS5 joins on: search/full_text.py), PostgreSQL's have none (it cost
# a sequence and a btree insertion per row): migration `index_rows_without_surrogate_key`.
def _index_table(name: str, *columns: Column, indexes: tuple[tuple[str, ...], ...]) -> Table:
    table = Table(
        name,
        metadata,
        *_resource_key(),
        Column("param", PARAM, nullable=False),
        *columns,
    )
    if name not in PROBED:  # the probe index below starts with (type, id): migration 0025
        Index(f"ix_{name}_resource", table.c.resource_type, table.c.resource_id)
    for cols in indexes:
        Index(f"ix_{name}_{'_'.join(cols)}", *(table.c[c] for c in ("resource_type", *cols)))
    return table


index_token = _index_table(
    "index_token",
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    Column("text", Text, nullable=True),
    indexes=(("param", "code", "system", "resource_id"),),  # covering: see migration 0011
)
index_string = _index_table(
    "index_string",
    Column("value_folded", Text, nullable=False),
    Column("value_exact", Text, nullable=False),
    indexes=(("param", "value_folded"),),
)
index_date = _index_table(
    "index_date",
    Column("low_us", BigInteger, nullable=False),
    Column("high_us", BigInteger, nullable=False),
    indexes=(("param", "low_us"), ("param", "high_us")),
)
index_number = _index_table(
    "index_number",
    Column("value", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    indexes=(("param", "value"),),
)
index_quantity = _index_table(
    "index_quantity",
    Column("value", Float, nullable=True),
    Column("low", Float, nullable=True),
    Column("high", Float, nullable=True),
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    Column("unit", Text, nullable=True),
    indexes=(("param", "code", "value"),),
)
index_reference = _index_table(
    "index_reference",
    Column("target_type", TYPE, nullable=True),
    Column("target_id", RID, nullable=True),
    Column("target_version", String(64), nullable=True),
    Column("url", Text, nullable=True),
    indexes=(("param", "target_id", "target_type", "resource_id"),),
)
index_uri = _index_table(
    "index_uri",
    Column("uri", Text, nullable=False),
    indexes=(("param", "uri"),),
)
index_composite = _index_table(
    "index_composite",
    Column("value_key", Text, nullable=False),
    indexes=(("param", "value_key"),),
)
# Full text (`_text`, `_content`; fhir/indexing/text.py): one row per resource and parameter,
# `words` = its distinct folded words. PostgreSQL: a tsvector with a GIN index. SQLite: text,
# indexed by the FTS5 table `index_text_fts` (external content = this table, kept in step
# by triggers; created by migration 0014, not described here).
index_text = _index_table(
    "index_text",
    Column("words", TSVECTOR().with_variant(Text(), "sqlite"), nullable=False),
    indexes=(),
)
Index("ix_index_text_words", index_text.c.words, postgresql_using="gin").ddl_if(
    dialect="postgresql"
)

# Every patient compartment a resource belongs to (R4 CompartmentDefinition "patient").
compartment = Table(
    "compartment",
    metadata,
    Column("patient_id", RID, primary_key=True),
    Column("resource_type", TYPE, primary_key=True),
    Column("resource_id", RID, primary_key=True),
    Index("ix_compartment_resource", "resource_type", "resource_id"),
)

# Transactional outbox: written in the same transaction as the change it announces.
outbox = Table(
    "outbox",
    metadata,
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("tx_id", BigInteger, nullable=False),
    Column("resource_type", TYPE, nullable=False),
    Column("resource_id", RID, nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("patient_id", RID, nullable=True),
    Column("event", String(10), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("delivered_at_us", BigInteger, nullable=True),
    Index("ix_outbox_undelivered", "delivered_at_us", "event_id"),
)

INDEX_TABLES = {
    "token": index_token,
    "string": index_string,
    "date": index_date,
    "number": index_number,
    "quantity": index_quantity,
    "reference": index_reference,
    "uri": index_uri,
    "composite": index_composite,
    "text": index_text,
}

# Search result pages (search/paging.py): the ordered matches of a search whose result has
# more than one page, so that later pages stay the same while resources change (no
# duplicates, no gaps). Rows expire after an hour; `query_key` binds a row to the query
# and to the caller's restriction.
search_cache = Table(
    "search_cache",
    metadata,
    Column("search_id", String(36), primary_key=True),
    Column("created_us", BigInteger, nullable=False),
    Column("query_key", String(64), nullable=False),
    Column("total", Integer, nullable=True),
    Column("entries", LargeBinary, nullable=False),
    # with a `hidden` restriction: the visible matches found so far, and how many of
    # `entries` have been checked to find them
    Column("visible", LargeBinary, nullable=True),
    Column("scanned", Integer, nullable=True),
    Index("ix_search_cache_created", "created_us"),
)

# Prefix searches (`name=ode`, LIKE 'ode%') can use a btree index only in the "C"
# collation; on PostgreSQL this index with text_pattern_ops serves them in any collation.
Index(
    "ix_index_string_param_value_pattern",
    index_string.c.resource_type,
    index_string.c.param,
    index_string.c.value_folded,
    postgresql_ops={"value_folded": "text_pattern_ops"},
).ddl_if(dialect="postgresql")

# The ledger of issued felles hjelpenummer (store/fh_ledger.py): the number is the
# primary key, so no number is ever issued twice, and rows are never removed (not on merge,
# not on deletion of the Patient). Who asked for the number and why is kept with it.
fh_number = Table(
    "fh_number",
    metadata,
    Column("number", String(11), primary_key=True),
    Column("patient_id", RID, nullable=True),
    Column("allocated_at_us", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Index("ix_fh_number_patient", "patient_id"),
)

# DPoP proofs already accepted (auth/dpop.py, store/dpop_replay.py), shared by every worker
# and node: `proof_key` is SHA-256(jkt|jti) in hex (no key material or jti is stored), so
# the primary key makes a second insert of the same proof fail. Rows are dead after
# `expires_us` (the proof's iat window has closed) and are purged in passing.
dpop_replay = Table(
    "dpop_replay",
    metadata,
    Column("proof_key", String(64), primary_key=True),
    Column("expires_us", BigInteger, nullable=False),
    Index("ix_dpop_replay_expires", "expires_us"),
)

# Covering indexes for the per-resource probes of search (`EXISTS (… WHERE resource_type =
# … AND resource_id = … AND param = …)`) and for reading sort keys and the deleted flag of
# matched resources: the probe reads index pages only, not the wide rows (search/sql.py).
Index(
    "ix_resource_type_id_updated",
    resource.c.resource_type,
    resource.c.resource_id,
    resource.c.last_updated_us,
    resource.c.deleted,
)
Index(
    "ix_index_token_probe",
    index_token.c.resource_type,
    index_token.c.resource_id,
    index_token.c.param,
    postgresql_include=["system", "code"],
)
Index(
    "ix_index_date_probe",
    index_date.c.resource_type,
    index_date.c.resource_id,
    index_date.c.param,
    postgresql_include=["low_us", "high_us"],
)
# A patient's measurements of a period: one range of this index (`Observation/$aggregate`,
# store/measurement_queries.py; migration 0019).
Index(
    "ix_index_date_patient_time",
    index_date.c.patient_id,
    index_date.c.resource_type,
    index_date.c.param,
    index_date.c.low_us,
    postgresql_include=["resource_id"],
)

# One person, one record (store/patient_identity.py): each national identity number of an
# active Patient — fødselsnummer, D-number, felles hjelpenummer, a local H-number under its
# issuer's system — has one row naming the Patient that holds it. The primary key makes the
# database refuse a second holder, also between concurrent transactions. `resource_id` NULL
# marks a number that several Patients carried before this table existed (a duplicate the
# migration found): nobody holds it until the records are merged (`samhandling identity
# duplicates` lists them).
patient_identity = Table(
    "patient_identity",
    metadata,
    Column("system", String(200), primary_key=True),
    Column("value", String(64), primary_key=True),
    Column("resource_id", RID, nullable=True),
    Index("ix_patient_identity_resource", "resource_id"),
)


# The services' own tables (exports, notifications, document content, web sessions) are
# described in store/service_tables.py, on this `metadata`: imported here so that whoever
# takes `metadata` (migrations, the tests' clean-up) has every table.
from samhandling.store import service_tables  # noqa: E402, F401
