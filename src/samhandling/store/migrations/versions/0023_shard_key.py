"""shard key: the patient partition key of the clinical rows (docs/SCALING.md)

`shard_key` on `resource`, `resource_version` and every `index_*` table: the row's
`patient_id`, or "~" for a resource in no patient's compartment. A nullable column without
a default (no table rewrite; rows written before stay NULL): the plain layout does not read
it. The patient-partitioned layout (store/layout.py, `SAMHANDLING_STORE_LAYOUT`) partitions
these tables by it, NOT NULL and in their primary keys; downgrading such a database first
turns the tables back into plain ones.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from samhandling.store.layout import SHARDED_TABLES, unpartition

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in SHARDED_TABLES:
        op.add_column(table, sa.Column("shard_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        unpartition(connection)
    for table in SHARDED_TABLES:  # SQLite 3.35+ drops a column in place (keeps triggers)
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN shard_key')
