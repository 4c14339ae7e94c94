"""`flask --app wsgi pakn …`: the PAKN commands (retention)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from .retention import erase_expired

pakn_commands = AppGroup("pakn", help="Complaints and recommendations (PAKN).")


@pakn_commands.command("erase-expired")
@click.option("--dry-run", is_flag=True, help="Only count what would be erased.")
def erase_expired_command(dry_run: bool) -> None:
    """Erase senders' and callers' personal data past the retention period (PAKN_RETENTION_DAYS)."""
    items, calls = erase_expired(dry_run=dry_run)
    if not dry_run:
        db.session.commit()
    verb = "would erase" if dry_run else "erased"
    click.echo(f"{verb}: personal data of {items} closed PAKN and {calls} hotline calls past retention")
