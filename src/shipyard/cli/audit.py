"""``shipyard audit log | verify``."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import typer

from shipyard.cli import app

audit_app = typer.Typer(help="The tamper-evident audit log of every state change.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    from shipyard.errors import UsageError

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--since '{value}' is not an ISO date or time",
                         hint="e.g. 2026-11-24 or 2026-11-24T09:30") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@audit_app.command("log")
def log_command(model: str = typer.Option(None, "--model", help="Only events of this model."),
                since: str = typer.Option(None, "--since", help="Only events at or after this ISO time."),
                json_output: bool = typer.Option(False, "--json")) -> None:
    """Print audit events, oldest first."""
    from rich.console import Console
    from rich.table import Table

    from shipyard.client.remote import remote_api

    api = remote_api()
    if api is None:
        from shipyard.governance.audit import read_events

        events = read_events(model=model, since=_since(since))
    else:
        from shipyard.client import audit as remote

        with api:
            events = remote.read_events(api, model=model, since=_since(since))
    if json_output:
        print(json.dumps([e.__dict__ for e in events], indent=2, default=str))
        return
    if not events:
        print("no audit events match")
        return
    table = Table()
    for column in ("#", "time", "actor", "action", "model", "version", "from → to", "reason"):
        table.add_column(column)
    for e in events:
        change = f"{e.from_state or ''} → {e.to_state or ''}" if (e.from_state or e.to_state) else ""
        actor = f"{e.actor} (unauthenticated)" if e.authenticated is False else e.actor
        table.add_row(str(e.seq), e.time.strftime("%Y-%m-%d %H:%M:%S"), actor, e.action, e.model or "",
                      e.version or "", change, e.reason or "")
    Console().print(table)


@audit_app.command("verify")
def verify_command() -> None:
    """Check the hash chain; exits non-zero and names the first bad event if it was tampered with."""
    from shipyard.client.remote import remote_api

    api = remote_api()
    if api is None:
        from shipyard.governance.audit import verify_chain

        report = verify_chain()
    else:
        from shipyard.client import audit as remote

        with api:
            report = remote.verify_chain(api)
    if report.ok:
        print(f"audit log intact: {report.events} events, hash chain verified")
        return
    from shipyard.errors import TamperedError

    print(f"audit log TAMPERED: {report.problem} (first bad event: {report.first_bad_seq})")
    raise typer.Exit(TamperedError.exit_code)
