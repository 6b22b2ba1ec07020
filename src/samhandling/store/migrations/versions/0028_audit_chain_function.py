"""audit trail: the chain's next links computed under the chain lock, in the database

`samhandling_audit_chain(lock_key, canonical)` takes the chain lock (the advisory
transaction lock every chained batch takes), reads the chain's head and gives each of the
rows whose canonical bytes it is passed its position, previous hash and hash:
`hash = SHA-256(prev_hash | chain_pos | canonical)`, the formula of `audit/chain.py`. A
request journal that shares the chain with another process inserts its batches with these
links in one statement, without knowing the head beforehand: with two server processes on
one database (`serve --workers 2`) each batch built after the head its own process left
met the other's, failed on the chain position and went the long way (two round trips
holding the lock): two workers served less than one did.

The head is read inside the function, after the lock is held: a volatile PL/pgSQL
function takes a new snapshot for each statement (READ COMMITTED), so it sees the batch
whose commit released the lock. Only PostgreSQL: SQLite has one writer process.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION samhandling_audit_chain(lock_key BIGINT, canonical BYTEA[])
RETURNS TABLE (ord INTEGER, new_pos BIGINT, new_prev VARCHAR, new_hash VARCHAR)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    at_pos BIGINT;
    previous VARCHAR;
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
    FOR i IN 1 .. coalesce(array_length(canonical, 1), 0) LOOP
        at_pos := at_pos + 1;
        ord := i;
        new_pos := at_pos;
        new_prev := previous;
        new_hash := encode(
            sha256(convert_to(previous || '|' || at_pos::TEXT || '|', 'UTF8') || canonical[i]),
            'hex'
        );
        previous := new_hash;
        RETURN NEXT;
    END LOOP;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS samhandling_audit_chain(BIGINT, BYTEA[])")
