"""``shipyard tokens create | list | revoke``: API tokens for the server and CI."""

from __future__ import annotations

import json
from datetime import timedelta

import typer

from shipyard.cli import app
from shipyard.client.remote import remote_api

tokens_app = typer.Typer(help="API tokens: shown once, stored only as a hash, expiring, revocable.",
                         no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


def _lifetime(text: str) -> timedelta | None:
    from shipyard.errors import UsageError
    from shipyard.spec.durations import parse_duration

    if text == "never":
        return None
    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError:
        raise UsageError(f"--expires-in '{text}' is not a lifetime",
                         hint="e.g. 30d, 12h, or never") from None


@tokens_app.command("create")
def create_command(name: str = typer.Option(..., "--name", help="What the token is for, e.g. laptop or ci."),
                   identity: str = typer.Option(None, "--for", help="Whose token (default: yours); svc:NAME "
                                                "for a service account."),
                   expires_in: str = typer.Option("90d", "--expires-in", help="Lifetime: 30d, 12h, or never."),
                   scopes: list[str] = typer.Option(None, "--scope", help="Also let a gateway that requires a token "
                                                    "accept it for: inference (every model), inference:MODEL, or "
                                                    "metrics. Repeat for several.")
                   ) -> None:
    """Create a token and print it once; only its hash is kept."""
    lifetime = _lifetime(expires_in)
    api = remote_api()
    if api is None:
        from shipyard.governance.tokens import create_token

        created = create_token(name, identity=identity, expires_in=lifetime, scopes=scopes or ())
    else:
        from shipyard.client import tokens as remote

        with api:
            created = remote.create_token(api, name, identity=identity, expires_in=lifetime, scopes=scopes or ())
    info = created.info
    expiry = f"expires {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at else "never expires"
    granted = f", gateway scopes: {', '.join(info.scopes)}" if info.scopes else ""
    print(f"token '{info.name}' (id {info.id}) for {info.identity}, {expiry}{granted}.")
    print("Copy it now; it is not shown again:")
    print(created.secret)


@tokens_app.command("list")
def list_command(identity: str = typer.Option(None, "--for", help="Whose tokens (default: yours)."),
                 json_output: bool = typer.Option(False, "--json")) -> None:
    """List tokens (never their secrets)."""
    api = remote_api()
    if api is None:
        from shipyard.governance.tokens import list_tokens

        listed = list_tokens(identity=identity)
    else:
        from shipyard.client import tokens as remote

        with api:
            listed = remote.list_tokens(api, identity=identity)
    if json_output:
        print(json.dumps([{**t.__dict__, "status": t.status()} for t in listed], indent=2, default=str))
        return
    if not listed:
        print("no tokens")
        return
    for t in listed:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        expires = f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never"
        scopes = f"  scopes {','.join(t.scopes)}" if t.scopes else ""
        print(f"{t.id}  {t.identity:<16} {t.name:<16} {t.status():<8} expires {expires}  last used {used}{scopes}")


@tokens_app.command("revoke")
def revoke_command(token_id: str = typer.Argument(..., metavar="TOKEN_ID")) -> None:
    """Revoke a token: it is refused from the next request on."""
    api = remote_api()
    if api is None:
        from shipyard.governance.tokens import revoke_token

        info = revoke_token(token_id)
    else:
        from shipyard.client import tokens as remote

        with api:
            info = remote.revoke_token(api, token_id)
    print(f"revoked token '{info.name}' (id {info.id}) of {info.identity}")
