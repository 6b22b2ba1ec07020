"""web sessions: the web views' sessions and logins under way, shared by every node

`web_session`: one row per session or login under way, keyed by the SHA-256 of the
browser's random reference; the content (tokens, CSRF token, declared purpose) sealed with
a key derived from the reference, which only the browser holds.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("last_used_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_web_session_expires_us", "web_session", ["expires_us"])


def downgrade() -> None:
    op.drop_index("ix_web_session_expires_us", table_name="web_session")
    op.drop_table("web_session")
