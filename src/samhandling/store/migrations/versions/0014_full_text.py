"""search: the full-text index of `_text` and `_content`

One row per resource and parameter (`index_text`), its distinct folded words in `words`
(fhir/indexing/text.py). PostgreSQL keeps them as a `tsvector` with a GIN index; SQLite as text,
indexed by an FTS5 table with external content (`index_text_fts`, rowid = `row_id`) that
triggers keep in step with `index_text`, so the write path inserts and deletes only
`index_text` rows like those of every other index table. The rows of the current resources
are filled here (`samhandling reindex` does the same).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BATCH = 500
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE index_text_fts USING fts5("
    "words, content='index_text', content_rowid='row_id', tokenize='ascii')",
    "CREATE TRIGGER index_text_inserted AFTER INSERT ON index_text BEGIN "
    "INSERT INTO index_text_fts (rowid, words) VALUES (new.row_id, new.words); END",
    "CREATE TRIGGER index_text_deleted AFTER DELETE ON index_text BEGIN "
    "INSERT INTO index_text_fts (index_text_fts, rowid, words) "
    "VALUES ('delete', old.row_id, old.words); END",
    "CREATE TRIGGER index_text_updated AFTER UPDATE ON index_text BEGIN "
    "INSERT INTO index_text_fts (index_text_fts, rowid, words) "
    "VALUES ('delete', old.row_id, old.words); "
    "INSERT INTO index_text_fts (rowid, words) VALUES (new.row_id, new.words); END",
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    table = op.create_table(
        "index_text",
        sa.Column("row_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("words", TSVECTOR().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("row_id"),
    )
    op.create_index("ix_index_text_resource", "index_text", ["resource_type", "resource_id"])
    if sqlite:
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.create_index("ix_index_text_words", "index_text", ["words"], postgresql_using="gin")
    _fill(table)


def _fill(table: Any) -> None:
    """Index the current resources (the rules of this release: fhir/indexing/text.py)."""
    from samhandling.fhir import json_codec
    from samhandling.fhir.indexing.text import text_values

    bind = op.get_bind()
    source = sa.table(
        "resource",
        sa.column("resource_type"),
        sa.column("resource_id"),
        sa.column("patient_id"),
        sa.column("deleted"),
        sa.column("content"),
    )
    after = ("", "")
    while True:
        r = source.c
        rows = bind.execute(
            sa.select(r.resource_type, r.resource_id, r.patient_id, r.content)
            .where(
                r.deleted.is_(False),
                sa.tuple_(r.resource_type, r.resource_id) > sa.tuple_(*after),
            )
            .order_by(r.resource_type, r.resource_id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        values = [
            {"resource_type": t, "resource_id": i, "patient_id": p, **_row(v)}
            for t, i, p, content in rows
            if content is not None
            for v in text_values(json_codec.parse(content))
        ]
        if values:
            bind.execute(sa.insert(table), values)
        after = (rows[-1][0], rows[-1][1])


def _row(value: Any) -> dict[str, str]:
    return {"param": value.param, "words": value.words}


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("index_text_inserted", "index_text_deleted", "index_text_updated"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS index_text_fts")
    else:
        op.drop_index("ix_index_text_words", table_name="index_text")
    op.drop_index("ix_index_text_resource", table_name="index_text")
    op.drop_table("index_text")
