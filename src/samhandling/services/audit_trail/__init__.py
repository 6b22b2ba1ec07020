"""The audit trail's operations, as a service: the citizen's `Patient/{id}/$access-log` and
the security officer's `AuditEvent/$emergency-report` (docs/ARCHITECTURE.md, "The audit
trail"). The AuditEvent search and read routes are the API's (`api/audit_routes.py`)."""

from __future__ import annotations

from samhandling.services.audit_trail.operations import OPERATIONS
from samhandling.services.service import Service

SERVICE = Service(name="audit-trail", operations=tuple(OPERATIONS))
