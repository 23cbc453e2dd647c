"""``shipyard admin bootstrap``: the first platform admin, made on the machine that holds the store."""

from __future__ import annotations

import typer

from shipyard.cli import app

admin_app = typer.Typer(help="Platform administration on the machine that holds the store.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@admin_app.command("bootstrap")
def bootstrap_command(name: str = typer.Argument(..., help="The admin's user name."),
                      token_name: str = typer.Option("bootstrap", "--token-name",
                                                     help="Name of the first token, printed once."),
                      expires_in: str = typer.Option("90d", "--expires-in", help="Its lifetime: 30d, 12h or never.")
                      ) -> None:
    """Make NAME a platform admin and print a token for it (in-process only, never through a server)."""
    from shipyard.cli.tokens import _lifetime
    from shipyard.governance.directory import bootstrap_admin
    from shipyard.governance.tokens import create_token

    lifetime = _lifetime(expires_in)
    bootstrap_admin(name)
    created = create_token(token_name, identity=name, expires_in=lifetime)
    print(f"{name} is a platform admin. Its token '{created.info.name}' (id {created.info.id}); "
          "copy it now, it is not shown again:")
    print(created.secret)
