"""Responses the server could not take as sent: kept as sent for staff instead of lost on the device."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import RefusedSubmission
from .submission import KEY_RE

PAYLOAD_MAX_CHARS = 20_000  # a whole kiosk response is about 2 KB; anything far larger is not a citizen's


def keep_refused(counter_id: int, device_id: int | None, payload: dict[str, Any], reason: str,
                 errors: dict[str, Any]) -> bool:
    """Keep one refused response on the request's transaction: what was sent (bounded) and what was wrong.
    A response the kiosk sends again (its reply was lost) is kept once, by its key. True once kept."""
    text = json.dumps(payload, ensure_ascii=False, default=str)
    kept = payload if len(text) <= PAYLOAD_MAX_CHARS else {"truncated": text[:PAYLOAD_MAX_CHARS]}
    key = payload.get("key")
    row = RefusedSubmission(counter_id=counter_id, device_id=device_id, reason=reason,
                            response_key=key if isinstance(key, str) and KEY_RE.match(key) else None,
                            errors={k: str(v) for k, v in errors.items()}, payload=kept)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        pass  # kept the first time it came
    return True
