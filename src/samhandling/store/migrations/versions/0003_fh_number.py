"""identity: the ledger of issued felles hjelpenummer (national auxiliary numbers)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fh_number",
        sa.Column("number", sa.String(length=11), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("allocated_at_us", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_index("ix_fh_number_patient", "fh_number", ["patient_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_fh_number_patient", table_name="fh_number")
    op.drop_table("fh_number")
