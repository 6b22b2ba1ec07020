"""bulk export: the `$export` jobs (FHIR Bulk Data Access 2.0)

One row per kick-off: the client that started it, its parameters, the snapshot it reads
(the transaction counter at kick-off), its state, progress, lease and the files written.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_job",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("snapshot_tx", sa.BigInteger(), nullable=False),
        sa.Column("transaction_time_us", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("lease_until_us", sa.BigInteger(), nullable=True),
        sa.Column("progress", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_index("ix_export_job_status", "export_job", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_export_job_status", table_name="export_job")
    op.drop_table("export_job")
