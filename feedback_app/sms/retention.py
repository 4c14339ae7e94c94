"""What citizens sent by SMS holds their words and (masked) numbers: after SMS_INBOUND_KEPT_DAYS only the record
that a message came and what became of it stays (a complaint's content lives on in the PAKN). Daily by the worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update

from ..extensions import db
from ..models import InboundSms
from ..timeutil import utcnow

EVERY_SECONDS = 24 * 3600
ERASED = "—"


def erase_old_messages(now: datetime | None = None) -> int:
    """Blank the text and masked number of messages older than the retention period; how many. Flushes."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["SMS_INBOUND_KEPT_DAYS"])
    erased = db.session.execute(
        update(InboundSms).where(InboundSms.received_at < cutoff, InboundSms.body != ERASED)
        .values(body=ERASED, phone_masked="", to_number=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.flush()
    return erased or 0


def retention_job() -> int:
    """The worker's daily job."""
    return erase_old_messages()
