"""audit trail: the rows write transactions left waiting are linked in the database

`samhandling_audit_link_waiting(lock_key, max_rows)` takes the chain lock (re-entrant: the
chained batch that calls it holds it already), reads the chain's head, gives up to
`max_rows` rows still waiting for their link (`chain_pos` NULL, oldest id first) their
position, previous hash and hash, and returns how many it linked and the head it left.

Each row's hash is the formula of `audit/chain.py`, `SHA-256(prev_hash | chain_pos |
canonical row)`, over the canonical row as `chain.canonical_row` prints it with orjson:
the chained columns as a JSON object with sorted keys, the SHA-256 of the content, the
patients sorted by code point — the same bytes, built here from the stored row:
`to_json(text)` escapes a string as orjson does (`\\"`, `\\\\`, `\\b \\f \\n \\r \\t`,
other control characters as lowercase `\\u00xx`, everything else as its UTF-8), and
`COLLATE "C"` orders UTF-8 strings by code point, as Python's `sorted`. The tests compare
the two on generated rows (tests/audit/test_audit_links_in_database.py); `verify` keeps
recomputing every link in Python.

Before, the request journal read the waiting rows back, hashed them in Python on the event
loop and sent an UPDATE of every link: ≈ 10% of the server's CPU per measurement during a
measurement ingest, where the server's core binds (bench/RESULTS.md, "The waiting rows
linked in the database"). The UPDATE is planned for each call (`plan_cache_mode`): a
generic plan made while `audit_event` was young (a hash join over a sequential scan) would
stay cached while it grew. Only PostgreSQL: on SQLite the batch links in Python.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-08
"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# `chain.canonical_row`'s bytes of the audit_event row `e`
CANONICAL = """convert_to(
    '{"columns":{"action":' || to_json(e.action)::TEXT
    || ',"agent_hpr":' || coalesce(to_json(e.agent_hpr)::TEXT, 'null')
    || ',"agent_kind":' || coalesce(to_json(e.agent_kind)::TEXT, 'null')
    || ',"agent_org":' || coalesce(to_json(e.agent_org)::TEXT, 'null')
    || ',"emergency":' || CASE WHEN e.emergency THEN 'true' ELSE 'false' END
    || ',"event_id":' || e.event_id::TEXT
    || ',"http_status":' || e.http_status::TEXT
    || ',"interaction":' || to_json(e.interaction)::TEXT
    || ',"outcome":' || to_json(e.outcome)::TEXT
    || ',"purpose_of_use":' || coalesce(to_json(e.purpose_of_use)::TEXT, 'null')
    || ',"recorded_at_us":' || e.recorded_at_us::TEXT
    || '},"content":"' || encode(sha256(e.content), 'hex')
    || '","patients":[' || coalesce((
        SELECT string_agg(to_json(p.patient_id)::TEXT, ',' ORDER BY p.patient_id COLLATE "C")
        FROM audit_patient p WHERE p.event_id = e.event_id
    ), '') || ']}',
    'UTF8'
)"""

FUNCTION = f"""
CREATE OR REPLACE FUNCTION samhandling_audit_link_waiting(lock_key BIGINT, max_rows INTEGER)
RETURNS TABLE (linked INTEGER, head_pos BIGINT, head_hash VARCHAR)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    at_pos BIGINT;
    previous VARCHAR;
    waiting RECORD;
    ids BIGINT[] := '{{}}';
    positions BIGINT[] := '{{}}';
    previous_hashes VARCHAR[] := '{{}}';
    hashes VARCHAR[] := '{{}}';
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT newest.chain_pos, newest.hash INTO at_pos, previous FROM (
        (SELECT e.chain_pos, e.hash FROM audit_event e
         WHERE e.chain_pos IS NOT NULL ORDER BY e.chain_pos DESC LIMIT 1)
        UNION ALL
        (SELECT a.chain_pos, a.hash FROM audit_anchor a ORDER BY a.chain_pos DESC LIMIT 1)
    ) AS newest ORDER BY newest.chain_pos DESC LIMIT 1;
    IF at_pos IS NULL THEN
        at_pos := 0;
        previous := repeat('0', 64);
    END IF;
    FOR waiting IN
        SELECT e.event_id, {CANONICAL} AS canonical
        FROM audit_event e WHERE e.chain_pos IS NULL ORDER BY e.event_id LIMIT max_rows
    LOOP
        at_pos := at_pos + 1;
        ids := ids || waiting.event_id;
        positions := positions || at_pos;
        previous_hashes := previous_hashes || previous;
        previous := encode(
            sha256(convert_to(previous || '|' || at_pos::TEXT || '|', 'UTF8') || waiting.canonical),
            'hex'
        );
        hashes := hashes || previous;
    END LOOP;
    linked := cardinality(ids);
    IF linked > 0 THEN
        UPDATE audit_event AS e
        SET chain_pos = v.chain_pos, prev_hash = v.prev_hash, hash = v.hash
        FROM unnest(ids, positions, previous_hashes, hashes)
            AS v (event_id, chain_pos, prev_hash, hash)
        WHERE e.event_id = v.event_id;
    END IF;
    IF at_pos > 0 THEN
        head_pos := at_pos;
        head_hash := previous;
    END IF;
    RETURN NEXT;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS samhandling_audit_link_waiting(BIGINT, INTEGER)")
