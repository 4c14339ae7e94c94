"""`flask api-keys create NAME [--agency CODE] [--scope open311|dossiers] | list | revoke PREFIX_OR_ID`: keys for
other systems (Open311 clients, the one-stop system's dossier feed); a key opens only its scope."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from .audit import record
from .extensions import db
from .models import ApiKey, OrgUnit
from .models.api_key import API_KEY_SCOPES
from .timeutil import format_datetime

api_keys_commands = AppGroup("api-keys", help="API keys of other systems (Open311 clients, one-stop dossier feed).")


@api_keys_commands.command("create")
@click.argument("name")
@click.option("--agency", "agency_code", default=None, help="Code of the agency its PAKN or dossiers go to.")
@click.option("--scope", type=click.Choice(API_KEY_SCOPES), default="open311", show_default=True,
              help="open311: file PAKN; dossiers: POST /api/v1/dossiers.")
def create_command(name: str, agency_code: str | None, scope: str) -> None:
    """Issue a key and print it once: only its hash is kept."""
    agency_id = None
    if agency_code:
        agency = db.session.scalar(select(OrgUnit).where(OrgUnit.code == agency_code.strip()))
        if agency is None:
            raise click.ClickException(f"No unit with code {agency_code!r}.")
        agency_id = agency.id
    if not name.strip() or len(name.strip()) > 120:
        raise click.ClickException("NAME must be 1 to 120 characters.")
    key, plain = ApiKey.issue(name.strip(), agency_id, scope=scope)
    db.session.add(key)
    db.session.flush()
    record(None, "api_key.issue", key, name=key.name, prefix=key.prefix, agency_id=agency_id, scope=scope, via="cli")
    db.session.commit()
    click.echo(f"API key #{key.id} for {key.name}, scope {scope} (copy it now, it is never shown again):")
    click.echo(plain)


@api_keys_commands.command("list")
def list_command() -> None:
    """Every key: id, prefix, name, scope, agency, created, last used, revoked."""
    keys = db.session.scalars(select(ApiKey).order_by(ApiKey.id)).all()
    if not keys:
        click.echo("No API keys.")
    for k in keys:
        state = f"revoked {format_datetime(k.revoked_at)}" if k.revoked_at else "active"
        used = format_datetime(k.last_used_at) if k.last_used_at else "never"
        agency = k.agency.code if k.agency else "-"
        click.echo(f"{k.id}\t{k.prefix}…\t{k.name}\tscope={k.scope}\tagency={agency}\tcreated={format_datetime(k.created_at)}"
                   f"\tlast_used={used}\t{state}")


@api_keys_commands.command("revoke")
@click.argument("prefix_or_id")
def revoke_command(prefix_or_id: str) -> None:
    """Revoke a key by its id or its prefix (refused when the prefix names several keys)."""
    wanted = prefix_or_id.strip().removesuffix("…")
    if wanted.isdigit():
        matches = [k for k in [db.session.get(ApiKey, int(wanted))] if k is not None]
    else:
        matches = list(db.session.scalars(select(ApiKey).where(ApiKey.prefix == wanted)))
    if not matches:
        raise click.ClickException(f"No API key {prefix_or_id!r}.")
    if len(matches) > 1:
        ids = ", ".join(str(k.id) for k in matches)
        raise click.ClickException(f"Several keys start with {wanted!r}: revoke by id ({ids}).")
    key = matches[0]
    if not key.active:
        click.echo(f"API key #{key.id} ({key.prefix}…) was already revoked.")
        return
    key.revoke()
    record(None, "api_key.revoke", key, name=key.name, prefix=key.prefix, via="cli")
    db.session.commit()
    click.echo(f"Revoked API key #{key.id} ({key.prefix}…, {key.name}).")
