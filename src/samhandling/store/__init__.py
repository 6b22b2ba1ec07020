"""Storage: schema, migrations, the version writer and readers (SQLite and PostgreSQL)."""
