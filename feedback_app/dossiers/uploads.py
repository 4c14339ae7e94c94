"""An uploaded file between its preview and its import: kept in the instance folder under a random id.

`<id>.json` holds who uploaded it, for which agency, the progress, the totals and the row report; `<id>.rows.json`
the checked rows still to import (deleted once imported). Both go after UPLOAD_DAYS at the latest. The page's
script imports CHUNK rows per request (a progress bar for large files); without script, one request does all.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app

from ..models import User
from .importing import Issue, ParsedFile, Row
from .services import BATCH_SIZE, ImportResult, ImportRun, Matcher, existing_codes, import_batch

CHUNK = BATCH_SIZE
UPLOAD_SECONDS = 24 * 3600
_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")
DATE_FIELDS = ("received_date", "appointment_date", "returned_date")
PREVIEW_ROWS = 20


class UploadGone(Exception):
    """No such upload for this user (never made, someone else's, or cleaned up)."""


def folder() -> Path:
    path = Path(current_app.instance_path) / "dossier-imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _clean_old(now: float) -> None:
    for path in folder().glob("*.json"):
        try:
            if now - path.stat().st_mtime > UPLOAD_SECONDS:
                path.unlink()
        except OSError:
            pass  # another request cleaned it first


def _write(path: Path, data: Any) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(temporary, path)  # readers never see half a file


def _row_json(row: Row) -> dict[str, Any]:
    values = None
    if row.values is not None:
        values = {k: v.isoformat() if isinstance(v, date) else v for k, v in row.values.items()}
    return {"number": row.number, "values": values, "issues": [asdict(i) for i in row.issues]}


def _row_from(data: dict[str, Any]) -> Row:
    values = data["values"]
    if values is not None:
        values = {k: date.fromisoformat(v) if k in DATE_FIELDS and v else v for k, v in values.items()}
    return Row(data["number"], values, [Issue(**i) for i in data["issues"]])


def keep(user: User, agency_id: int, filename: str, parsed: ParsedFile) -> str:
    """Store a checked file for its preview and import; its id."""
    now = time.time()
    _clean_old(now)
    upload_id = secrets.token_urlsafe(24)
    codes = existing_codes(r.values["code"] for r in parsed.rows if r.values)
    valid = [r for r in parsed.rows if r.values]
    state = {
        "user_id": user.id, "agency_id": agency_id, "filename": filename[:200], "columns": parsed.columns,
        "total": len(parsed.rows), "done": 0, "finished": False, "totals": ImportResult().counts(),
        "expected": {
            "new": sum(1 for r in valid if r.values["code"] not in codes),  # type: ignore[index]
            "existing": sum(1 for r in valid if codes.get(r.values["code"]) == agency_id),  # type: ignore[index]
            "other_agency": sum(1 for r in valid if codes.get(r.values["code"], agency_id) != agency_id),  # type: ignore[index]
            "errors": len(parsed.rows) - len(valid),
            "warnings": sum(1 for i in parsed.issues if i.level == "warning"),
        },
        "issues": [asdict(i) for i in parsed.issues],
        "created_at": now,
    }
    _write(folder() / f"{upload_id}.rows.json", [_row_json(r) for r in parsed.rows])
    _write(folder() / f"{upload_id}.json", state)
    return upload_id


def load(user: User, upload_id: str) -> dict[str, Any]:
    """The upload's state, for its owner only."""
    if not _ID.fullmatch(upload_id or ""):
        raise UploadGone
    try:
        state = json.loads((folder() / f"{upload_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UploadGone from error
    if state.get("user_id") != user.id:
        raise UploadGone
    return state


def rows(upload_id: str) -> list[Row]:
    try:
        data = json.loads((folder() / f"{upload_id}.rows.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UploadGone from error
    return [_row_from(r) for r in data]


def preview(state: dict[str, Any], upload_id: str) -> list[dict[str, Any]]:
    """The first rows without errors as they will be saved (counter, officer, service matched)."""
    matcher = Matcher(state["agency_id"])
    return [matcher.resolve(r.values) for r in rows(upload_id) if r.values][:PREVIEW_ROWS]


def import_next(user: User, upload_id: str, everything: bool = False) -> dict[str, Any]:
    """Import the next CHUNK rows (or all that are left) and commit; the updated state."""
    state = load(user, upload_id)
    if state["finished"]:
        return state
    pending = rows(upload_id)
    run = ImportRun(user=user, agency_id=state["agency_id"], source="upload",
                    details={"via": "upload", "file_rows": state["total"]})
    for name, value in state["totals"].items():
        if name != "rows":
            setattr(run.totals, name, value)
    end = len(pending) if everything else min(state["done"] + CHUNK, len(pending))
    for start in range(state["done"], end, BATCH_SIZE):
        stop = min(start + BATCH_SIZE, end)
        chunk = pending[start:stop]
        result = import_batch(run, chunk, state["columns"], final=stop >= len(pending))
        # Only the problems found while saving are new: the file's own ones are in the report already.
        known = {id(i) for r in chunk for i in r.issues}
        state["issues"].extend(asdict(i) for i in result.issues if id(i) not in known)
        state["done"] = stop
        state["totals"] = run.totals.counts()
    if not pending:
        import_batch(run, [], state["columns"], final=True)
    state["finished"] = state["done"] >= len(pending)
    _write(folder() / f"{upload_id}.json", state)
    if state["finished"]:
        (folder() / f"{upload_id}.rows.json").unlink(missing_ok=True)
    return state


def discard(user: User, upload_id: str) -> None:
    """Forget an upload that will not be imported."""
    load(user, upload_id)
    for suffix in (".rows.json", ".json"):
        (folder() / f"{upload_id}{suffix}").unlink(missing_ok=True)
