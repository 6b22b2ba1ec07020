"""Storage: schema, migrations, the version writer and readers (SQLite and PostgreSQL)."""

from samhandling.store import audit_tables as audit_tables  # registers the audit tables
