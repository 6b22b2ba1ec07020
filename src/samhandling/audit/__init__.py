"""The audit trail: every access recorded as an IHE BALP-shaped AuditEvent, hash-chained."""
