"""audit trail: the index of rows waiting for their link becomes partial

The journal's rows arrive with their chain position and hash; only write transactions'
rows wait (chain_pos NULL) until the next chained batch links them. The index that finds
them only needs to cover those, and costs nothing for the others.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UNSEALED = sa.text("chain_pos IS NULL")


def upgrade() -> None:
    op.drop_index("ix_audit_event_unsealed", table_name="audit_event")
    op.create_index(
        "ix_audit_event_unsealed",
        "audit_event",
        ["event_id"],
        postgresql_where=UNSEALED,
        sqlite_where=UNSEALED,
    )


def downgrade() -> None:
    op.drop_index("ix_audit_event_unsealed", table_name="audit_event")
    op.create_index("ix_audit_event_unsealed", "audit_event", ["chain_pos", "event_id"])
