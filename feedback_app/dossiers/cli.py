"""`flask import-dossiers FILE [--agency CODE]`: the same import as the upload page, from a shell."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..models import OrgUnit
from .importing import FileProblem, parse_file
from .services import ImportRun, import_rows, only_agency

MAX_ERRORS_SHOWN = 200


def _agency(code: str | None) -> OrgUnit:
    if code:
        agency = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code.strip()))
        if agency is None:
            raise click.ClickException(f"No unit with code {code!r}.")
        return agency
    agency = only_agency()
    if agency is None:
        raise click.ClickException("Several agencies exist: say which one with --agency CODE.")
    return agency


@click.command("import-dossiers", help="Import dossiers from a CSV or XLSX file (one-stop system export).")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--agency", "agency_code", default=None, help="Code of the agency (OrgUnit.code) the dossiers belong to.")
@with_appcontext
def import_dossiers_command(path: Path, agency_code: str | None) -> None:
    """Import FILE: prints the counts and every row problem; exits 1 when the file cannot be read."""
    agency = _agency(agency_code)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise click.ClickException(f"Cannot read {path}: {error.strerror}.") from error
    try:
        parsed = parse_file(data, path.name, current_app.config.get("DOSSIER_IMPORT_MAX_ROWS", 50000))
    except FileProblem as problem:
        raise click.ClickException(str(problem)) from problem
    run = ImportRun(user=None, agency_id=agency.id, source="cli", details={"via": "cli"})
    result = import_rows(run, parsed.rows, parsed.columns)
    click.echo(f"{agency.code}: {result.rows} rows — {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged, {result.errors} with errors, {result.warnings} warnings.")
    for issue in result.issues[:MAX_ERRORS_SHOWN]:
        level = "error" if issue.level == "error" else "warning"
        click.echo(f"row {issue.row}\t{issue.column}\t{level}\t{issue.message}")
    if len(result.issues) > MAX_ERRORS_SHOWN:
        click.echo(f"… and {len(result.issues) - MAX_ERRORS_SHOWN} more.")
