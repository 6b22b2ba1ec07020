"""auth: the DPoP replay cache shared by all workers and nodes

One row per accepted DPoP proof (SHA-256 of key thumbprint and jti) until the proof's
acceptance window has closed; the primary key refuses the same proof a second time.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dpop_replay",
        sa.Column("proof_key", sa.String(length=64), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("proof_key"),
    )
    op.create_index("ix_dpop_replay_expires", "dpop_replay", ["expires_us"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dpop_replay_expires", table_name="dpop_replay")
    op.drop_table("dpop_replay")
