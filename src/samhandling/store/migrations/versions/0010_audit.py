"""audit trail: audit_event, audit_patient, audit_anchor

Revision ID: 0010
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("event_id", ID, primary_key=True),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
        sa.Column("interaction", sa.String(60), nullable=False),
        sa.Column("action", sa.String(1), nullable=False),
        sa.Column("outcome", sa.String(2), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("agent_kind", sa.String(20), nullable=True),
        sa.Column("agent_hpr", sa.String(20), nullable=True),
        sa.Column("agent_org", sa.String(20), nullable=True),
        sa.Column("purpose_of_use", sa.String(20), nullable=True),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("chain_pos", sa.BigInteger(), nullable=True, unique=True),
        sa.Column("prev_hash", sa.String(64), nullable=True),
        sa.Column("hash", sa.String(64), nullable=True),
    )
    op.create_index("ix_audit_event_recorded", "audit_event", ["recorded_at_us"])
    op.create_index("ix_audit_event_agent_hpr", "audit_event", ["agent_hpr"])
    op.create_index("ix_audit_event_agent_org", "audit_event", ["agent_org", "recorded_at_us"])
    op.create_index("ix_audit_event_unsealed", "audit_event", ["chain_pos", "event_id"])
    op.create_table(
        "audit_patient",
        sa.Column("event_id", sa.BigInteger(), primary_key=True),
        sa.Column("patient_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_audit_patient_patient", "audit_patient", ["patient_id", "event_id"])
    op.create_table(
        "audit_anchor",
        sa.Column("anchor_id", ID, primary_key=True),
        sa.Column("chain_pos", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("archived_at_us", sa.BigInteger(), nullable=False),
        sa.Column("archive_name", sa.String(200), nullable=False),
        sa.Column("archive_sha256", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_anchor")
    op.drop_index("ix_audit_patient_patient", table_name="audit_patient")
    op.drop_table("audit_patient")
    for name in ("unsealed", "agent_org", "agent_hpr", "recorded"):
        op.drop_index(f"ix_audit_event_{name}", table_name="audit_event")
    op.drop_table("audit_event")
