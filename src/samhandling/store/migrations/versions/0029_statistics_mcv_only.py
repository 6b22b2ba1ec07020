"""search: the index tables' extended statistics keep their MCV lists, not functional dependencies

Migration 0011 gave each index table's key columns (`resource_type, param[, code |
target_type]`) extended statistics of two kinds: a multi-column MCV list and functional
dependencies. The planner estimates a statement's clauses on such columns with the MCV list
first and applies dependencies only to the clauses the list left unestimated
(`statext_clauselist_selectivity`, PostgreSQL 12 and later); every clause a dependency can
estimate (column = constant, column IN constants) the MCV list estimates too, so the
dependencies were computed at every `ANALYZE` and never used. Their computation was most of
the `ANALYZE`: `index_token` at 481,000 rows (a 300,000-row sample for its 1,000-entry
list) 3.5–4.1 s with both kinds, 1.6–1.8 s with the MCV list alone; `index_reference`
−27%, the two-column tables −2 to −12% (bench/RESULTS.md, "The statistics upkeep's
ANALYZE"). The server's statistics upkeep runs these `ANALYZE`s on the database's core
during every long write load (store/statistics.py).

The objects are made again with the MCV list only and the targets they had, and each table
that holds rows is analysed at once, so the planner is never without its MCV list
(`DROP STATISTICS` drops its data). The analysis reads a sample bounded by the target
(300 × 1,000 rows for `index_token`, 300 × 5,000 for the others): seconds, on a large and
cold table possibly a minute. On the patient-partitioned layout the objects are on the
partitioned parents, and `ANALYZE` of a parent analyses its partitions. Only PostgreSQL:
SQLite's planner has no extended statistics.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from alembic import op
from sqlalchemy import text

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# (statistics name, table, columns): those of migration 0011
STATISTICS = (
    ("st_index_token_key", "index_token", "resource_type, param, code"),
    ("st_index_string_key", "index_string", "resource_type, param"),
    ("st_index_date_key", "index_date", "resource_type, param"),
    ("st_index_reference_key", "index_reference", "resource_type, param, target_type"),
    ("st_index_quantity_key", "index_quantity", "resource_type, param"),
    ("st_index_number_key", "index_number", "resource_type, param"),
    ("st_index_uri_key", "index_uri", "resource_type, param"),
)
DEFAULT_TARGET = 5000  # 0011's, for an object that is missing


def upgrade() -> None:
    _make_all("mcv")


def downgrade() -> None:
    _make_all("mcv, dependencies")


def _make_all(kinds: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("SET LOCAL statement_timeout = 0")  # the ANALYZE of a large table
    for name, table, columns in STATISTICS:
        _make(name, table, columns, kinds)


def _make(name: str, table: str, columns: str, kinds: str) -> None:
    """The statistics object `name` again with `kinds`, its target kept, and filled."""
    bind = op.get_bind()
    target = bind.execute(
        text(
            "SELECT stxstattarget FROM pg_statistic_ext WHERE stxname = :name"
            " AND stxnamespace = CAST(current_schema() AS regnamespace)"
        ),
        {"name": name},
    ).scalar()
    op.execute(f"DROP STATISTICS IF EXISTS {name}")
    op.execute(f"CREATE STATISTICS {name} ({kinds}) ON {columns} FROM {table}")
    if target is None or target >= 0:  # -1: the default target, as a new object has
        kept = DEFAULT_TARGET if target is None else int(target)
        op.execute(f"ALTER STATISTICS {name} SET STATISTICS {kept}")
    if bind.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None:
        op.execute(f"ANALYZE {table}")
