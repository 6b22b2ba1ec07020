"""The services' own tables beside the clinical store: Bulk Data export jobs, notification
delivery, document content and web sessions (described on `schema.metadata`; each service
reaches its table through its store/*_queries.py module)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Table, Text

from samhandling.store.schema import RID, TYPE, metadata

# Bulk Data `$export` jobs (services/bulk_export, store/export_queries.py): one row per
# kick-off, its snapshot (the transaction counter at kick-off), its state and progress, and
# the files written so far (JSON). The worker that runs a job holds a lease on it
# (`lease_until_us`), so a job whose process died is taken up again by another.
export_job = Table(
    "export_job",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("client_id", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("request", Text, nullable=False),
    Column("parameters", Text, nullable=False),
    Column("snapshot_tx", BigInteger, nullable=False),
    Column("transaction_time_us", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("lease_until_us", BigInteger, nullable=True),
    Column("progress", Text, nullable=True),
    Column("output", Text, nullable=False),
    Column("error", Text, nullable=True),
    Index("ix_export_job_status", "status"),
)

# Notifications (services/notifications, docs/NOTIFICATIONS.md): the delivery state of each
# topic-based Subscription, and the events numbered for it. Written by the Subscription write
# rule and the delivery worker through store/notification_queries.py.
notification_subscription = Table(
    "notification_subscription",
    metadata,
    Column("subscription_id", RID, primary_key=True),
    Column("topic", String(300), nullable=False),
    Column("filters", Text, nullable=False),  # JSON: [[name, value], ...]
    Column("endpoint", Text, nullable=False),
    Column("headers", Text, nullable=False),  # JSON list of "Name: value"
    Column("payload", String(20), nullable=False),  # empty | id-only
    Column("subscriber", Text, nullable=False),  # JSON: the creator, as delivery judges it
    Column("status", String(20), nullable=False),  # active | error | off
    Column("start_tx", BigInteger, nullable=False),  # events of later transactions count
    Column("events_since_start", BigInteger, nullable=False),
    Column("delivered_through", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("failing_since_us", BigInteger, nullable=True),
    Column("next_attempt_us", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    Column("lease_holder", String(64), nullable=True),
    Column("lease_until_us", BigInteger, nullable=True),
    Index("ix_notification_subscription_status", "status"),
)

notification_event = Table(
    "notification_event",
    metadata,
    Column("subscription_id", RID, primary_key=True),
    Column("event_number", BigInteger, primary_key=True),
    Column("outbox_event_id", BigInteger, nullable=False),
    Column("resource_type", TYPE, nullable=False),
    Column("resource_id", RID, nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

# Document content (services/document_sharing, store/document_content.py): the bytes of
# Binary resources, content-addressed by SHA-256 and kept outside the resource rows. On
# PostgreSQL in chunks of at most 1 MiB (`document_content_chunk`); on SQLite as files in a
# blob directory beside the database file (these tables stay empty there).
document_content = Table(
    "document_content",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("sha1", String(40), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("chunk_count", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

document_content_chunk = Table(
    "document_content_chunk",
    metadata,
    # the content's SHA-256, or "upload-<uuid>" while an upload is under way
    Column("content_key", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)

# Web sessions and logins under way (web/sessions.py, store/web_session_queries.py), shared
# by every node: keyed by the SHA-256 of the browser's random reference (the reference itself
# is never stored), the content sealed with a key derived from that reference, so that a
# copy of the database holds no usable session.
web_session = Table(
    "web_session",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # "session" or "login"
    Column("sealed", LargeBinary, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("last_used_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False, index=True),
)
