"""index rows: no surrogate key on PostgreSQL

Every `index_*` table had a `row_id bigserial` primary key: a `nextval` and one btree
insertion more per index row written (≈ 11 per measurement, ≈ 20 per Synthea resource),
for a key no query reads on PostgreSQL — rows are found and deleted by (type, id) through
the probe or `ix_<table>_resource` index, and searched through the value indexes. The
column goes, and with it its primary key and its sequence; the rows are a plain heap, which
is enough: a resource's rows are replaced as a whole, nothing updates one row, and the
database is replicated physically (no replica identity needed). On the patient-partitioned
layout the column goes from the partitioned table and its partitions together (their key
was (shard_key, row_id)), which then have no primary key.

SQLite keeps its `row_id` INTEGER PRIMARY KEY: it is the rowid itself (costs nothing) and
the FTS5 table `index_text_fts` joins on it (migration 0014); nothing is done there.

`DROP COLUMN` only marks the column dropped in the catalogue (the old rows keep their 8
bytes until they are rewritten): instant, but it takes a short exclusive lock on each table
(it waits for running statements on it). Downgrade adds the column back, numbered from a
new sequence, with its primary key: that rewrites the tables.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

TABLES = (
    "index_token",
    "index_string",
    "index_date",
    "index_number",
    "index_quantity",
    "index_reference",
    "index_uri",
    "index_composite",
    "index_text",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        # drops the primary key and the sequence (owned by the column) with it
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN IF EXISTS row_id')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        # a partitioned table's primary key must hold its partition key
        key = "shard_key, row_id" if _partitioned(table) else "row_id"
        op.execute(f'ALTER TABLE "{table}" ADD COLUMN row_id bigserial NOT NULL')
        op.execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY ({key})')


def _partitioned(table: str) -> bool:
    found = op.get_bind().exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table"
        f" WHERE partrelid = to_regclass('{table}'))"
    )
    return bool(found.scalar())
