"""Citizens' names, phones and e-mails on dossiers are kept for the invitation and the apology slip only, and no
longer than DOSSIER_RETENTION_DAYS after the result was returned, or after a cancelled one was last updated (Nghị
định 13/2023); the dossier's facts stay.
Run daily by the worker."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import or_, update

from ..audit import record
from ..extensions import db
from ..models import Dossier
from ..timeutil import LOCAL_TZ, local_today, utcnow

EVERY_SECONDS = 24 * 3600


def retention_cutoff(today: date | None = None) -> date:
    """Dossiers returned before this date have passed the retention period."""
    return (today or local_today()) - timedelta(days=current_app.config["DOSSIER_RETENTION_DAYS"])


def erase_expired(today: date | None = None) -> int:
    """Erase the personal data of dossiers returned before the cutoff; how many. Flushes; the caller commits."""
    personal = or_(Dossier.citizen_name.is_not(None), Dossier.phone.is_not(None), Dossier.email.is_not(None))
    cutoff = retention_cutoff(today)
    # A cancelled dossier is never returned, invited or apologised to: its data serves nothing once the period has
    # passed since the import that last changed it (when it was cancelled, at the latest).
    cancelled_long_ago = (Dossier.status == "cancelled") & (
        Dossier.updated_at < datetime.combine(cutoff, time(), tzinfo=LOCAL_TZ).astimezone(UTC))
    erased = db.session.execute(
        update(Dossier).where(or_(Dossier.returned_date < cutoff, cancelled_long_ago), personal)
        .values(citizen_name=None, phone=None, email=None, personal_data_erased_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if erased:
        record(None, "dossier.erase_expired", None, dossiers=erased,
               retention_days=current_app.config["DOSSIER_RETENTION_DAYS"])
    db.session.flush()
    return erased


def retention_job() -> int:
    """The worker's daily job."""
    return erase_expired()
