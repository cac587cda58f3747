"""Writing to the audit log, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.audit.models import AuditEntry


def record(
    session: Session,
    *,
    actor_kind: str,
    actor_id: str | None,
    action: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    library_id: int | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_kind=actor_kind,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        library_id=library_id,
        details=details or {},
        ip=ip,
    )
    session.add(entry)
    return entry
