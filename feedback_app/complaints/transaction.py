"""The one commit of a PAKN service: everything or nothing, and a lost version race told as StaleComplaint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from .errors import StaleComplaint


@contextmanager
def one_commit(code: str | None = None) -> Iterator[None]:
    """Run the block and commit once; roll back on any error. Someone else's change to the same item meanwhile
    (the version column matched no row) becomes StaleComplaint(code)."""
    try:
        yield
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleComplaint(code or "") from None
    except BaseException:
        db.session.rollback()
        raise
