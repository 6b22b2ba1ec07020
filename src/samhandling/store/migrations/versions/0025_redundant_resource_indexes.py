"""index rows: no `(type, id)` index where the probe index starts with it

`ix_index_token_resource` and `ix_index_date_resource` (resource_type, resource_id) are
prefixes of the probe indexes `ix_index_token_probe` and `ix_index_date_probe` (type, id,
param; migration 0002), so every look-up by (type, id) — the version writer's delete of a
resource's index rows, reindex, the search probes — is served by the probe index, and each
token and date row written cost one btree insert more than needed (≈ 6.5 per measurement).
On the patient-partitioned layout the index of the partitioned table is dropped with those
of its partitions. `DROP INDEX` frees no pages row by row and builds nothing: it is instant,
but takes a short exclusive lock on the table (it waits for running statements on it), so
it runs here, at the start of the first new node, not `CONCURRENTLY` (which cannot run in a
transaction nor on a partitioned table). Downgrade builds them again.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

TABLES = ("index_token", "index_date")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_resource")


def downgrade() -> None:
    for table in TABLES:
        op.create_index(
            f"ix_{table}_resource", table, ["resource_type", "resource_id"], if_not_exists=True
        )
