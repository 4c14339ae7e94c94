"""Record an audit event for a staff action, in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from .extensions import db
from .models import AuditEvent, User


def record(user: User | None, action: str, entity: Any = None, **details: Any) -> AuditEvent:
    """Append one audit row; flushes with the change, commits with the request."""
    entity_type = type(entity).__name__ if entity is not None else "-"
    entity_id = getattr(entity, "id", None)
    event = AuditEvent(
        user_id=user.id if user is not None and getattr(user, "id", None) else None,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else None,
        details={k: _jsonable(v) for k, v in details.items()},
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
