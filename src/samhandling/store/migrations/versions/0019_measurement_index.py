"""measurements: the patient's date rows in time order (`Observation/$aggregate`)

`index_date (patient_id, resource_type, param, low_us)`, covering `resource_id` on
PostgreSQL: a patient's measurements of a period are one range of this index, so the cost
of a 30-day aggregate depends on the measurements in the period, not on the patient's whole
history nor on the size of the table (docs/MEASUREMENTS.md, "Volume"). On a large existing
`index_date` the index takes a while to build (it locks writes to the table meanwhile);
build it first with `CREATE INDEX CONCURRENTLY` under the same name and this migration
finds it there.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

NAME = "ix_index_date_patient_time"
COLUMNS = ["patient_id", "resource_type", "param", "low_us"]


def upgrade() -> None:
    op.create_index(
        NAME, "index_date", COLUMNS, postgresql_include=["resource_id"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="index_date")
