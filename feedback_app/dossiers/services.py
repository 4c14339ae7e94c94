"""Saving dossiers, the same for the upload page, the CLI and the API: upsert by code, one commit per batch.

A dossier is matched by its code only (the unique constraint holds it under concurrent imports: a batch that
loses an insert race is redone as updates). A code already held by another agency is refused for that row,
never moved. After each batch is inserted or changed, schedule_invitations decides which to invite.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit import record
from ..complaints.access import AGENCY_TYPES
from ..extensions import db
from ..models import Counter, Dossier, Officer, OrgUnit, Service, User
from ..scoping import unit_with_descendants
from ..sms.invitations import schedule_invitations
from ..timeutil import utcnow
from .importing import Issue, Row

BATCH_SIZE = 500  # rows per commit (and per look-up of existing codes)
LOOKUP_CHUNK = 500
IMPORT_ROLES = ("admin", "office")
PERSONAL = ("citizen_name", "phone", "email")
SAVED_FIELDS = ("procedure_code", "procedure_name", "field_name", "counter_name", "officer_name", "citizen_name",
                "phone", "email", "received_date", "appointment_date", "returned_date", "status", "status_text",
                "supplement_count", "channel", "counter_id", "officer_id", "service_id")


@dataclass
class Outcome:
    """What became of one row: created, updated, unchanged or error."""

    number: int
    code: str | None
    result: str
    dossier_id: int | None = None


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    warnings: int = 0
    issues: list[Issue] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.errors

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "errors": self.errors, "warnings": self.warnings}

    def add(self, other: ImportResult) -> None:
        for name in ("created", "updated", "unchanged", "errors", "warnings"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.issues.extend(other.issues)
        self.outcomes.extend(other.outcomes)


@dataclass
class ImportRun:
    """One import (a file, a command, an API call): who, for which agency, how; its running totals."""

    user: User | None
    agency_id: int
    source: str  # upload / cli / api
    details: dict[str, Any] = field(default_factory=dict)  # for the audit row: api_key_id, via…
    totals: ImportResult = field(default_factory=ImportResult)
    matcher: Matcher | None = None


def _norm(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split()).casefold()


class Matcher:
    """The agency's counters (by name or code), officers (by full name) and services (by code), read once."""

    def __init__(self, agency_id: int) -> None:
        units = sorted(unit_with_descendants([agency_id]))
        self.counters: dict[str, int] = {}
        for cid, name, code in db.session.execute(select(Counter.id, Counter.name, Counter.code)
                                                  .where(Counter.agency_id.in_(units)).order_by(Counter.id)):
            self.counters.setdefault(_norm(code), cid)
            self.counters.setdefault(_norm(name), cid)
        officers: dict[str, set[int]] = {}
        for oid, name in db.session.execute(select(Officer.id, Officer.full_name).where(Officer.unit_id.in_(units))):
            officers.setdefault(_norm(name), set()).add(oid)
        # Two officers with one name: neither is guessed, the name stays as text.
        self.officers = {name: next(iter(ids)) for name, ids in officers.items() if len(ids) == 1}
        self.services = {_norm(code): (sid, name) for sid, code, name in db.session.execute(
            select(Service.id, Service.code, Service.name).where(Service.agency_id.in_(units))
            .order_by(Service.active, Service.id))}  # an active service wins over a retired one with its code

    def resolve(self, values: dict[str, Any]) -> dict[str, Any]:
        resolved = dict(values)
        resolved["counter_id"] = self.counters.get(_norm(values.get("counter_name"))) \
            if values.get("counter_name") else None
        resolved["officer_id"] = self.officers.get(_norm(values.get("officer_name"))) \
            if values.get("officer_name") else None
        service = self.services.get(_norm(values.get("procedure_code"))) if values.get("procedure_code") else None
        resolved["service_id"] = service[0] if service else None
        if not resolved.get("procedure_name") and service:
            resolved["procedure_name"] = service[1][:500]
        return resolved


def agencies_for(user: User) -> list[OrgUnit]:
    """Agencies the user may import for: the office its own, an administrator any open agency."""
    from ..staff_intake.services import agencies_for as entry_agencies  # the same rule as staff entry

    return entry_agencies(user) if user.role in IMPORT_ROLES else []


def only_agency() -> OrgUnit | None:
    """The installation's single open agency, when there is exactly one."""
    found = db.session.scalars(select(OrgUnit).where(OrgUnit.unit_type.in_(AGENCY_TYPES), OrgUnit.valid_to.is_(None))
                               .limit(2)).all()
    return found[0] if len(found) == 1 else None


def existing_codes(codes: Iterable[str]) -> dict[str, int]:
    """Agency id by code, for the codes already stored; looked up in chunks (never one query per row)."""
    wanted = sorted(set(codes))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        found.update(db.session.execute(select(Dossier.code, Dossier.agency_id)
                                        .where(Dossier.code.in_(wanted[start:start + LOOKUP_CHUNK]))).tuples().all())
    return found


def _other_agency(row: Row, column: str) -> Issue:
    return Issue(row.number, column, _("Mã hồ sơ này đã có trong hệ thống nhưng thuộc cơ quan khác; hồ sơ không "
                                       "được nhập. Hãy kiểm tra lại mã hoặc cơ quan đã chọn."))


def _apply(dossier: Dossier, values: dict[str, Any]) -> bool:
    changed = False
    for name in SAVED_FIELDS:
        if name in PERSONAL and dossier.personal_data_erased_at is not None:
            continue  # erased on request: a later import does not bring the citizen's data back
        if getattr(dossier, name) != values.get(name):
            setattr(dossier, name, values.get(name))
            changed = True
    return changed


def _upsert(run: ImportRun, rows: Sequence[Row], columns: dict[str, str]) -> tuple[ImportResult, list[Dossier]]:
    result, saved = ImportResult(), []
    matcher = run.matcher
    assert matcher is not None
    valid = [r for r in rows if r.values is not None]
    existing = {d.code: d for d in db.session.scalars(
        select(Dossier).where(Dossier.code.in_({r.values["code"] for r in valid})))}  # type: ignore[index]
    now = utcnow()
    for row in rows:
        result.warnings += sum(1 for i in row.issues if i.level == "warning")
        result.issues.extend(row.issues)
        if row.values is None:
            result.errors += 1
            result.outcomes.append(Outcome(row.number, None, "error"))
            continue
        values = matcher.resolve(row.values)
        code = values.pop("code")
        if not values.get("procedure_name"):
            result.issues.append(Issue(row.number, columns.get("procedure_name", columns.get("procedure_code", "")),
                                       _("Thiếu tên thủ tục và mã thủ tục không có trong danh mục của cơ quan; hãy "
                                         "ghi tên thủ tục.")))
            result.errors += 1
            result.outcomes.append(Outcome(row.number, code, "error"))
            continue
        dossier = existing.get(code)
        if dossier is None:
            dossier = Dossier(code=code, agency_id=run.agency_id, source=run.source, imported_at=now, updated_at=now,
                              **{name: values.get(name) for name in SAVED_FIELDS})
            db.session.add(dossier)
            existing[code] = dossier
            result.created += 1
            outcome = "created"
        elif dossier.agency_id != run.agency_id:
            result.issues.append(_other_agency(row, columns.get("code", "code")))
            result.errors += 1
            result.outcomes.append(Outcome(row.number, code, "error"))
            continue
        elif _apply(dossier, values):
            dossier.updated_at = now
            result.updated += 1
            outcome = "updated"
        else:
            result.unchanged += 1
            result.outcomes.append(Outcome(row.number, code, "unchanged", dossier.id))
            continue
        saved.append(dossier)
        result.outcomes.append(Outcome(row.number, code, outcome))
    return result, saved


def import_batch(run: ImportRun, rows: Sequence[Row], columns: dict[str, str], final: bool = False) -> ImportResult:
    """Save one batch of rows and commit it; with `final`, the import's audit row (counts only) goes with it."""
    if run.matcher is None:
        run.matcher = Matcher(run.agency_id)
    for _attempt in range(3):
        try:
            with db.session.begin_nested():  # another import inserted one of these codes: redo them as updates
                result, saved = _upsert(run, rows, columns)
                db.session.flush()
            break
        except IntegrityError:
            continue
    else:
        raise RuntimeError("dossier batch kept losing insert races")
    by_code = {d.code: d.id for d in saved}
    for outcome in result.outcomes:
        outcome.dossier_id = outcome.dossier_id or by_code.get(outcome.code or "")
    schedule_invitations(saved)
    run.totals.add(result)
    if final:
        record(run.user, "dossier.import", db.session.get(OrgUnit, run.agency_id), source=run.source,
               **run.totals.counts(), **run.details)
    db.session.commit()
    return result


def import_rows(run: ImportRun, rows: Sequence[Row], columns: dict[str, str]) -> ImportResult:
    """Every row, BATCH_SIZE at a time, each batch committed; a bad row never blocks the good ones."""
    if not rows:
        import_batch(run, [], columns, final=True)
    for start in range(0, len(rows), BATCH_SIZE):
        import_batch(run, rows[start:start + BATCH_SIZE], columns, final=start + BATCH_SIZE >= len(rows))
    return run.totals
