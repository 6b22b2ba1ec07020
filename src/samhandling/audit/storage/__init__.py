"""The audit trail's storage: its tables (on the store's metadata), the PostgreSQL statements
of its hot path, the writes of write transactions and chained batches, and the journal's
writer on the event loop. The store does not import it (import contract)."""
