"""``shipyard login | logout | whoami``: the token the CLI sends to a server, and who it says you are."""

from __future__ import annotations

import typer

from shipyard.cli import app


@app.command("login")
def login_command(url: str = typer.Argument(..., help="The server, e.g. http://127.0.0.1:8000."),
                  token: str = typer.Option(None, "--token", help="The API token (asked for, hidden, when left "
                                                                  "out).")) -> None:
    """Check a token against a server and keep it for that server (set SHIPYARD_URL to use it)."""
    from shipyard.client.credentials import normalize_url, store_token
    from shipyard.client.http import ApiClient

    url = normalize_url(url)
    if token is None:
        token = typer.prompt("token", hide_input=True)
    with ApiClient(url, token.strip()) as api:
        identity = api.get("/me")
    path = store_token(url, token)
    print(f"logged in to {url} as {_describe(identity)}; token kept in {path}")


@app.command("logout")
def logout_command(url: str = typer.Argument(None, help="The server (default: SHIPYARD_URL).")) -> None:
    """Forget the token kept for a server."""
    from shipyard.client.credentials import forget_token, normalize_url
    from shipyard.client.remote import server_url
    from shipyard.errors import UsageError

    target = normalize_url(url) if url else server_url()
    if target is None:
        raise UsageError("name the server to log out of", hint="shipyard logout URL (or set SHIPYARD_URL)")
    if forget_token(target):
        print(f"logged out of {target}")
    else:
        print(f"no token was kept for {target}")


@app.command("whoami")
def whoami_command() -> None:
    """Who your commands act as: the token's identity on SHIPYARD_URL's server, else the local identity."""
    from shipyard.client.remote import remote_api

    api = remote_api()
    if api is not None:
        with api:
            print(f"{_describe(api.get('/me'))} on {api.url}")
        return
    from shipyard.governance.identity import current_identity

    identity = current_identity()
    print(_describe({"name": identity.name, "kind": identity.kind, "roles": dict(identity.roles),
                     "platform_admin": identity.platform_admin, "authenticated": identity.authenticated})
          + " (in-process)")


def _describe(identity: dict) -> str:
    roles = ", ".join(f"{role} in {team}" for team, role in sorted(identity["roles"].items()))
    extra = [roles] if roles else []
    if identity["platform_admin"]:
        extra.append("platform admin")
    if not identity["authenticated"]:
        extra.append("unauthenticated")
    return f"{identity['name']} ({identity['kind']}{': ' + '; '.join(extra) if extra else ''})"
