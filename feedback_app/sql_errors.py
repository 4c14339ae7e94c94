"""SQL errors say what failed, not with which values: parameters are hidden (hide_parameters in config.py),
and PostgreSQL's DETAIL line, which quotes the failing row ("Key (email)=(…)", "Failing row contains (…)"),
is dropped from the message. The full diagnostics stay on the driver's error (`.orig.diag`) for code that needs them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

_registered = False


def _without_row_values(context: Any) -> exc.StatementError | None:
    """handle_error: the same SQLAlchemy error, built from the driver's first message line only."""
    original = context.original_exception
    if context.sqlalchemy_exception is None or context.dialect is None or context.dialect.name != "postgresql":
        return None
    primary, _, rest = str(original).partition("\n")
    if not rest:
        return None
    original.args = (primary,)  # the chained driver error is logged too: it must read the same
    return exc.DBAPIError.instance(
        context.statement, context.parameters, original, context.dialect.loaded_dbapi.Error,
        hide_parameters=True, connection_invalidated=context.is_disconnect, dialect=context.dialect,
    )


def register_terse_sql_errors() -> None:
    """Listen on every engine, once per process (engines are made per app, the rule is the same)."""
    global _registered
    if not _registered:
        event.listen(Engine, "handle_error", _without_row_values)
        _registered = True
