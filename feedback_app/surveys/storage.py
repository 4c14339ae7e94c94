"""Writing a response and its answers: the hot path of every kiosk and phone (see bench/README.md).

PostgreSQL gets the response and all its answers in one statement (the answers travel as five arrays);
other databases (SQLite) get the response, then its answers as one multi-row INSERT. Both insert with
ON CONFLICT (idempotency_key) DO NOTHING, so a second copy of a response is refused by the database,
and both decide in the same statement whether the response came too fast (see BURST_FLAG) and must
wait for review.
"""

from __future__ import annotations

from sqlalchemy import DateTime, Integer, TextClause, bindparam, insert, text

from ..extensions import db
from ..models import Answer, Response

RESPONSE_COLUMNS = (
    "public_id", "idempotency_key", "version_id", "channel", "unit_id", "counter_id", "officer_id", "service_id",
    "dossier_code", "device_id", "client_key", "language", "submitted_at", "completed_at", "local_date", "verified",
    "is_demo",
)
# Why a response waits for review: another response from the same registered kiosk within the gap between
# citizens, or too many from one address (a keyed hash of it) within the window. Each count stops at its
# limit and reads an index range (ix_responses_device_recent, ix_responses_client_recent).
BURST_FLAG = (
    "CASE WHEN EXISTS (SELECT 1 FROM responses WHERE device_id = :device_id "
    "AND completed_at BETWEEN :gap_from AND :gap_to) THEN 'kiosk_gap' "
    "WHEN (SELECT count(*) FROM (SELECT 1 FROM responses WHERE client_key = :burst_key "
    "AND submitted_at > :burst_since LIMIT :burst_max) AS recent) >= :burst_max THEN 'ip_burst' END"
)
BURST_PARAMS = {"gap_from": DateTime(timezone=True), "gap_to": DateTime(timezone=True),
                "burst_since": DateTime(timezone=True), "burst_max": Integer()}
ANSWER_COLUMNS = ("question_id", "value", "no_opinion", "option_id", "text")
ARRAY_TYPES = {"question_id": "integer[]", "value": "integer[]", "no_opinion": "boolean[]", "option_id": "integer[]",
               "text": "text[]"}

# Written as text with typed parameters: SQLAlchemy's on_conflict construct has no cache key and was
# compiled anew on every execution. The column names are our own constants.
_INSERT_RESPONSE = (
    f"INSERT INTO responses ({', '.join(RESPONSE_COLUMNS)}, flag_reason, review_status) "  # noqa: S608
    f"SELECT {', '.join(':' + c for c in RESPONSE_COLUMNS)}, flag.reason, "
    "CASE WHEN flag.reason IS NULL THEN 'none' ELSE 'pending' END "
    f"FROM (SELECT {BURST_FLAG} AS reason) AS flag "
    "WHERE true "  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)
_UNNEST = ", ".join(f"CAST(:answer_{c} AS {ARRAY_TYPES[c]})" for c in ANSWER_COLUMNS)


def _typed(sql: str) -> TextClause:
    columns = Response.__table__.c
    return text(sql).bindparams(
        *(bindparam(c, type_=columns[c].type) for c in RESPONSE_COLUMNS),
        bindparam("burst_key", type_=columns.client_key.type),
        *(bindparam(name, type_=type_) for name, type_ in BURST_PARAMS.items()),
    )


_POSTGRESQL = _typed(
    f"WITH r AS ({_INSERT_RESPONSE}), "  # noqa: S608 - our own column names
    f"a AS (INSERT INTO answers (response_id, {', '.join(ANSWER_COLUMNS)}) "
    f"SELECT r.id, u.* FROM r, unnest({_UNNEST}) AS u) "
    "SELECT id FROM r"
)
_RESPONSE_ONLY = _typed(_INSERT_RESPONSE)
# With RETURNING, SQLAlchemy sends the rows as one cached multi-row INSERT ("insertmanyvalues").
_ANSWERS = insert(Answer.__table__).returning(Answer.__table__.c.id)


def store_response(row: dict, answers: list[dict], burst: dict) -> int | None:
    """Insert on the request's transaction; the new id, or None when this idempotency key is already stored.

    `burst` holds the parameters of BURST_FLAG: gap_from, gap_to, burst_key, burst_since, burst_max.
    """
    row = {**row, **burst}
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        arrays = {f"answer_{c}": [a[c] for a in answers] for c in ANSWER_COLUMNS}
        return connection.execute(_POSTGRESQL, {**row, **arrays}).scalar()
    response_id = connection.execute(_RESPONSE_ONLY, row).scalar()
    if response_id is not None and answers:
        connection.execute(_ANSWERS, [{**a, "response_id": response_id} for a in answers])
    return response_id
