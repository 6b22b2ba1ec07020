"""document content: the content-addressed store of document bytes (IHE MHD ITI-65/68)

`document_content`: one row per distinct content (SHA-256 key, SHA-1 for MHD's
`attachment.hash`, size, number of chunks). `document_content_chunk`: the bytes in chunks of
at most 1 MiB, keyed by the content's SHA-256 (or a temporary upload key while a document
streams in). Used on PostgreSQL; SQLite keeps the bytes as files beside the database.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_content",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "document_content_chunk",
        sa.Column("content_key", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("content_key", "seq"),
    )


def downgrade() -> None:
    op.drop_table("document_content_chunk")
    op.drop_table("document_content")
