"""identity: one person, one record — the claims of Patients on national identity numbers

Creates `patient_identity` and fills it from the current Patients. A number that several
active Patients already carry is not given to any of them: its row has no holder (the
number is *disputed*), the migration logs a warning naming the Patients (numbers masked),
and `samhandling identity duplicates` lists them until they are merged. The migration does
not fail on duplicates: refusing to start would take the whole service down for a data
problem only a person can resolve.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import logging
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from samhandling.fhir import json_codec
from samhandling.identifiers.patient_claims import identity_claims, mask_number

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

log = logging.getLogger("samhandling.migrations")


def upgrade() -> None:
    table = op.create_table(
        "patient_identity",
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("system", "value"),
    )
    op.create_index("ix_patient_identity_resource", "patient_identity", ["resource_id"])
    carriers = _carriers(op.get_bind())
    rows = []
    for (system, value), patient_ids in sorted(carriers.items()):
        holder = patient_ids[0] if len(patient_ids) == 1 else None
        rows.append({"system": system, "value": value, "resource_id": holder})
        if holder is None:
            named = ", ".join(f"Patient/{p}" for p in patient_ids)
            log.warning(
                "duplicate identity number %s|%s on %s: nobody holds it until the records "
                "are merged (samhandling identity duplicates)",
                system,
                mask_number(value),
                named,
            )
    if rows:
        op.bulk_insert(table, rows)


def _carriers(connection: sa.Connection) -> dict[tuple[str, str], list[str]]:
    """(system, value) → ids of the current Patients claiming it."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    rows = connection.execute(
        sa.text(
            "SELECT resource_id, content FROM resource WHERE resource_type = 'Patient' "
            "AND deleted = :deleted ORDER BY resource_id"
        ),
        {"deleted": False},
    )
    for resource_id, content in rows:
        for claim in identity_claims(json_codec.parse(content) if content else None):
            found[claim].append(resource_id)
    return found


def downgrade() -> None:
    op.drop_index("ix_patient_identity_resource", table_name="patient_identity")
    op.drop_table("patient_identity")
