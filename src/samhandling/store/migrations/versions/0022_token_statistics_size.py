"""search: the token key statistics keep 1,000 most common values, not 5,000

Migration 0011 gave every index table's key columns a multi-column MCV list of 5,000
entries so that rare (type, param, code) combinations were estimated well. For
`index_token` that list fills up (52,000 distinct combinations at 10,000 patients with
documents: 137 kB of statistics), and the planner walks it for every clause on every
`index_token` alias of a statement: an ITI-67 search by national ID and status (three
aliases) took 20-33 ms to plan and 1 ms to run (EXPLAIN ANALYZE, 2026-12-05,
`bench_documents`). With 1,000 entries (6 kB) the same plan is chosen, planned in 1-4 ms.
The other index tables' lists are small (< 1.5 kB) and stay as they are.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TOKEN_STATISTICS = "st_index_token_key"
TARGET, EARLIER_TARGET = 1000, 5000


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's planner has no extended statistics
    op.execute(f"ALTER STATISTICS {TOKEN_STATISTICS} SET STATISTICS {TARGET}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER STATISTICS {TOKEN_STATISTICS} SET STATISTICS {EARLIER_TARGET}")
