"""Flask commands: seed, demo-data, create-user, calendar, worker."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from .api_key_cli import api_keys_commands
from .auth.passwords import password_problem
from .complaints.cli import pakn_commands
from .dossiers.cli import import_dossiers_command
from .extensions import db
from .models import OrgUnit, User
from .models.user import ROLES
from .timeutil import parse_date


def register_commands(app: Flask) -> None:
    app.cli.add_command(calendar_commands)
    app.cli.add_command(api_keys_commands)
    app.cli.add_command(worker_command)
    app.cli.add_command(pakn_commands)
    app.cli.add_command(import_dossiers_command)

    @app.cli.command("seed")
    def seed_command() -> None:
        """Load the shipped questionnaires (SIPAS 2640 and the quick rating) and PAKN deadline policies if missing."""
        from .complaints.policies import seed_policies
        from .surveys.questionnaires import seed_questionnaires

        outcome = seed_questionnaires()
        policies = seed_policies()
        db.session.commit()
        click.echo(f"PAKN deadline policies created: {policies}")
        click.echo(f"Questionnaires created: {', '.join(outcome.created) or 'none (already there)'}")
        if outcome.upgraded:
            click.echo(f"New shipped revision published (older responses keep their version): "
                       f"{', '.join(outcome.upgraded)}")
        if outcome.kept_custom:
            click.echo(f"Kept as customised by staff: {', '.join(outcome.kept_custom)}")
        if outcome.waiting_for_draft:
            click.echo(f"Newer shipped revision not published while a draft is open (publish or finish the "
                       f"draft, then run seed again): {', '.join(outcome.waiting_for_draft)}")

    @app.cli.command("demo-data")
    def demo_data_command() -> None:
        """Load the demo agency (Sở Xây dựng tỉnh Khánh Hòa) once; refused in production."""
        if not current_app.config["DEMO_DATA_ALLOWED"]:
            raise click.ClickException("Demo data is never loaded in production.")
        from .demo import load_demo_data

        summary = load_demo_data()
        db.session.commit()
        click.echo(summary)

    @app.cli.command("welcome")
    @click.option("--base-url", default="http://127.0.0.1:5000", help="Where the app is served.")
    def welcome_command(base_url: str) -> None:
        """Print the kiosk, QR and staff-login addresses and the demo login."""
        from .demo import DEMO_PASSWORD, DEMO_USERS
        from .models import Counter

        counters = db.session.scalars(select(Counter).where(Counter.active.is_(True)).order_by(Counter.code)).all()
        click.echo(f"\nFeedback app — {base_url} is starting.\n")
        for counter in counters[:3]:
            click.echo(f"  {counter.name}")
            click.echo(f"    kiosk (tablet):   {base_url}/k/{counter.code}")
            click.echo(f"    QR form (phone):  {base_url}/q/{counter.code}")
        click.echo(f"  Staff login:        {base_url}/login")
        if db.session.scalar(select(User).where(User.email == DEMO_USERS[0][0])):
            click.echo(f"\n  Demo logins (password for all: {DEMO_PASSWORD}):")
            for email, _name, role, _unit, _officer in DEMO_USERS:
                click.echo(f"    {role:8} {email}")
        click.echo("")

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--role", type=click.Choice(sorted(ROLES)), required=True)
    @click.option("--password", help="At least 12 characters, hard to guess; asked for when omitted.")
    @click.option("--name", "full_name", default=None, help="Full name (defaults to the e-mail).")
    @click.option("--unit", "unit_code", default=None, help="Code of the unit the account is scoped to.")
    def create_user_command(email: str, role: str, password: str | None, full_name: str | None,
                            unit_code: str | None) -> None:
        """Create a staff account scoped to a unit (the top unit when none is named)."""
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        email = email.strip().lower()
        problem = password_problem(password, email=email, full_name=full_name or "")
        if problem:
            raise click.ClickException(problem)
        if db.session.scalar(select(User).where(func.lower(User.email) == email)):
            raise click.ClickException(f"A user with e-mail {email} already exists.")
        if unit_code:
            unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
            if unit is None:
                raise click.ClickException(f"No unit has code {unit_code}.")
        else:
            unit = db.session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id))
            if unit is None:
                unit = OrgUnit(code="ROOT", name="Cơ quan", unit_type="so")
                db.session.add(unit)
                db.session.flush()
        user = User(email=email, full_name=full_name or email, role=role, org_unit_id=unit.id)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        click.echo(f"Created {role} {email} scoped to {unit.name}.")


calendar_commands = AppGroup("calendar", help="The working-time calendar: days off and make-up working days.")


def _parse_day(text: str) -> date:
    try:
        return parse_date(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date: write dd/mm/yyyy or yyyy-mm-dd.",
                                 param_hint="DATE") from None


@calendar_commands.command("add")
@click.argument("day", metavar="DATE")
@click.option("--off/--working", "off", default=None, help="A day off, or a make-up working day.")
@click.option("--basis", required=True, help="The legal basis, e.g. the number and date of the decision.")
def calendar_add_command(day: str, off: bool | None, basis: str) -> None:
    """Add a day off or a make-up working day, with its legal basis (audited as a system action)."""
    from .calendar_service import CalendarError, add_exception

    if off is None:
        raise click.UsageError("Say whether DATE is a day off (--off) or a working day (--working).")
    parsed = _parse_day(day)
    try:
        add_exception(None, parsed, not off, basis, via="cli")
    except CalendarError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{parsed:%d/%m/%Y}: {'day off' if off else 'working day'} ({basis.strip()})")


@calendar_commands.command("remove")
@click.argument("day", metavar="DATE")
def calendar_remove_command(day: str) -> None:
    """Remove the entry of a date; the national calendar applies to it again (audited as a system action)."""
    from .calendar_service import CalendarError, remove_exception

    parsed = _parse_day(day)
    try:
        remove_exception(None, parsed, via="cli")
    except CalendarError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{parsed:%d/%m/%Y}: entry removed")


@click.command("worker")
@click.option("--once", is_flag=True, help="Send what is due now, run the periodic jobs that are due, and exit.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Drain the outbox (e-mail and SMS) and run the periodic jobs; loops until SIGTERM or Ctrl-C unless --once."""
    import threading

    from .outbox.runner import PassResult, run_forever, run_once, stop_on_signals

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["PRODUCTION"] and not app.config["SMTP_HOST"]:
        raise click.ClickException("SMTP_HOST must be set in production: the worker would otherwise only log "
                                   "the e-mails it should send.")

    def report(result: PassResult) -> str:
        ran = ", ".join(f"{name}: {'error' if count is None else count}" for name, count in result.jobs.items())
        return (f"Messages sent: {result.messages.sent}, to retry: {result.messages.retried}, "
                f"dead: {result.messages.dead}; periodic jobs run: {ran or 'none due'}")

    if once:
        click.echo(report(run_once(app)))
        return
    stop = threading.Event()
    stop_on_signals(stop)
    click.echo(f"Worker started (every {app.config['WORKER_POLL_SECONDS']} s); stop with Ctrl-C or SIGTERM.")

    def on_pass(result: PassResult) -> None:
        if result.messages.claimed or result.jobs:
            click.echo(report(result))

    run_forever(app, stop, on_pass=on_pass)
    click.echo("Worker stopped.")
