"""search: result-page cache and the pattern index for string prefix search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_cache",
        sa.Column("search_id", sa.String(length=36), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("query_key", sa.String(length=64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("entries", sa.LargeBinary(), nullable=False),
        sa.Column("visible", sa.LargeBinary(), nullable=True),
        sa.Column("scanned", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("search_id"),
    )
    op.create_index("ix_search_cache_created", "search_cache", ["created_us"], unique=False)
    op.create_index(
        "ix_resource_type_id_updated",
        "resource",
        ["resource_type", "resource_id", "last_updated_us", "deleted"],
        unique=False,
    )
    op.create_index(
        "ix_index_token_probe",
        "index_token",
        ["resource_type", "resource_id", "param"],
        unique=False,
        postgresql_include=["system", "code"],
    )
    op.create_index(
        "ix_index_date_probe",
        "index_date",
        ["resource_type", "resource_id", "param"],
        unique=False,
        postgresql_include=["low_us", "high_us"],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_index_string_param_value_pattern",
            "index_string",
            ["resource_type", "param", "value_folded"],
            unique=False,
            postgresql_ops={"value_folded": "text_pattern_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_index_string_param_value_pattern", table_name="index_string")
    op.drop_index("ix_index_date_probe", table_name="index_date")
    op.drop_index("ix_index_token_probe", table_name="index_token")
    op.drop_index("ix_resource_type_id_updated", table_name="resource")
    op.drop_index("ix_search_cache_created", table_name="search_cache")
    op.drop_table("search_cache")
