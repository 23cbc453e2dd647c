"""``shipyard audit log | verify | keygen | rotate-key | checkpoint | export | prune``."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import typer

from shipyard.cli import app

audit_app = typer.Typer(help="The tamper-evident audit log of every state change.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _since(value: str | None) -> datetime | None:
    return _moment(value, "--since")


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    from shipyard.errors import UsageError

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} '{value}' is not an ISO date or time",
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
def verify_command(json_output: bool = typer.Option(False, "--json")) -> None:
    """Check the hash chain and the signed checkpoints; exits 9 and names what is wrong if it was tampered with."""
    from dataclasses import asdict

    from shipyard.client.remote import remote_api

    api = remote_api()
    if api is None:
        from shipyard.governance.audit_verify import verify_log

        report = verify_log()
    else:
        from shipyard.client import audit as remote

        with api:
            report = remote.verify_log(api)
    if json_output:
        print(json.dumps(asdict(report), indent=2))
    elif report.ok:
        print(f"audit log {report.summary}")
    else:
        print(f"audit log TAMPERED: {report.problem} (first bad event: {report.first_bad_seq})")
    if not report.ok:
        from shipyard.errors import TamperedError

        raise typer.Exit(TamperedError.exit_code)


@audit_app.command("keygen")
def keygen_command(out: Path = typer.Option(..., "--out", help="Where the private key goes (mode 0600); "
                                                                "the public key goes beside it as OUT.pub.")) -> None:
    """Create the Ed25519 key pair that signs audit checkpoints."""
    from shipyard.governance.signing import generate_key_pair

    private, public, key_id = generate_key_pair(out.expanduser().resolve())
    print(f"signing key {key_id}: {private} (keep it secret), public key: {public}")
    print(f"sign checkpoints with:  export SHIPYARD_AUDIT_SIGNING_KEY={private}")
    print(f"verify elsewhere with:  export SHIPYARD_AUDIT_PUBLIC_KEY={public}")


@audit_app.command("rotate-key")
def rotate_key_command(out: Path = typer.Option(..., "--out", help="Where the new private key goes (mode 0600); "
                                                                   "its public key goes beside it as OUT.pub."),
                       reason: str = typer.Option(None, "--reason")) -> None:
    """Replace the key that signs audit checkpoints (platform admins); checkpoints signed before still verify."""
    from shipyard.governance.key_rotation import rotate_key

    rotation, private = rotate_key(out.expanduser().resolve(), reason=reason)
    print(f"signing key {rotation.old_key_id} retired after event {rotation.seq}; new signing key "
          f"{rotation.new_key_id}: {private} (keep it secret), public key: {private}.pub")
    print(f"sign checkpoints with:  export SHIPYARD_AUDIT_SIGNING_KEY={private}")
    print("verify with either public key: the rotation record beside the checkpoints links them")


@audit_app.command("checkpoint")
def checkpoint_command() -> None:
    """Anchor the log's current head now: a signed checkpoint in the artifact store."""
    from shipyard.config import load_settings
    from shipyard.governance.checkpoints import write_checkpoint

    settings = load_settings()
    checkpoint = write_checkpoint(settings)
    if checkpoint is None:
        print("the audit log is empty: nothing to anchor")
        return
    print(f"checkpoint of event {checkpoint.seq} ({checkpoint.head_hash[:12]}…) signed with key "
          f"{checkpoint.key_id} in {settings.audit_checkpoints}")


@audit_app.command("export")
def export_command(out: str = typer.Option(..., "--out", help="Folder (path or fsspec URL) for the archive."),
                   format: str = typer.Option("parquet", "--format", help="parquet or jsonl."),
                   before: str = typer.Option(None, "--before", help="Only events before this ISO date or time.")
                   ) -> None:
    """Archive the log's events (every field and hash) from its oldest event on."""
    from shipyard.governance.audit_export import export_events

    export = export_events(out, format=format, before=_moment(before, "--before"))
    if export is None:
        print("no audit events to export")
        return
    print(f"exported events {export.first_seq} to {export.last_seq} ({export.events}) to {export.location} "
          f"(sha256 {export.sha256[:12]}…)")


@audit_app.command("prune")
def prune_command(before: str = typer.Option(None, "--before", help="Only events before this ISO date or time "
                                                                    "(default: the retention cutoff).")) -> None:
    """Delete the oldest events once they are past retention, exported and anchored by a checkpoint."""
    from shipyard.governance.audit_retention import prune

    pruned = prune(before=_moment(before, "--before"))
    print(f"pruned {pruned.deleted} events through event {pruned.through_seq}; they are archived in {pruned.export}")
