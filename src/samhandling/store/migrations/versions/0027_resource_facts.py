"""resource: the policy facts of the current version

A nullable `facts` column on the current-row table `resource`: a small JSON document kept
at write time next to `content` (`store/policy_facts.py`), from which a search judges a
resource without parsing its whole content (docs/SEARCH.md, "Policy facts"). Rows written
before this migration keep NULL and are judged from their content as before: nothing is
backfilled (`samhandling reindex` fills them). `resource_version` gets no column: only
current versions are searched.

Adding a nullable column without a default rewrites nothing on either engine (PostgreSQL
notes it in the catalogue; SQLite's `ALTER TABLE ADD COLUMN` edits the schema only). On the
patient-partitioned layout the column is added to the partitioned table, which adds it to
every partition.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("resource", sa.Column("facts", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.drop_column("facts")
