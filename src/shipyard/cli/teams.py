"""``shipyard teams create | list | add-member | remove-member | policy``."""

from __future__ import annotations

import json

import typer

from shipyard.cli import app
from shipyard.client.remote import remote_api

teams_app = typer.Typer(help="Teams own models; members hold a role in each: viewer, developer, approver, admin.",
                        no_args_is_help=True)
app.add_typer(teams_app, name="teams")


def _show(team) -> None:
    members = ", ".join(f"{name} ({role})" for name, role in team.members.items()) or "no members"
    duties = "" if team.separation_of_duties else "  [separation of duties off]"
    print(f"{team.name}: {members}{duties}")


@teams_app.command("create")
def create_command(name: str = typer.Argument(...),
                   separation_of_duties: bool = typer.Option(
                       True, "--separation-of-duties/--no-separation-of-duties",
                       help="Whether whoever started a run may not approve the version it produced.")) -> None:
    """Create a team (platform admins)."""
    api = remote_api()
    if api is None:
        from shipyard.governance.directory import create_team

        _show(create_team(name, separation_of_duties=separation_of_duties))
        return
    from shipyard.client import teams as remote

    with api:
        _show(remote.create_team(api, name, separation_of_duties=separation_of_duties))


@teams_app.command("list")
def list_command(json_output: bool = typer.Option(False, "--json")) -> None:
    """List the teams and their members."""
    api = remote_api()
    if api is None:
        from shipyard.governance.directory import list_teams

        teams = list_teams()
    else:
        from shipyard.client import teams as remote

        with api:
            teams = remote.list_teams(api)
    if json_output:
        print(json.dumps([t.__dict__ for t in teams], indent=2))
        return
    if not teams:
        print("no teams; a platform admin creates one with `shipyard teams create NAME`")
    for team in teams:
        _show(team)


@teams_app.command("add-member")
def add_member_command(team: str = typer.Argument(...), identity: str = typer.Argument(..., metavar="NAME"),
                       role: str = typer.Option(..., "--role", help="viewer, developer, approver or admin.")) -> None:
    """Give NAME a role in TEAM (svc:NAME for a service account); replaces its role there."""
    api = remote_api()
    if api is None:
        from shipyard.governance.directory import add_member

        _show(add_member(team, identity, role))
        return
    from shipyard.client import teams as remote

    with api:
        _show(remote.add_member(api, team, identity, role))


@teams_app.command("remove-member")
def remove_member_command(team: str = typer.Argument(...),
                          identity: str = typer.Argument(..., metavar="NAME")) -> None:
    """Take NAME out of TEAM."""
    api = remote_api()
    if api is None:
        from shipyard.governance.directory import remove_member

        _show(remove_member(team, identity))
        return
    from shipyard.client import teams as remote

    with api:
        _show(remote.remove_member(api, team, identity))


@teams_app.command("policy")
def policy_command(team: str = typer.Argument(...),
                   min_shadow: str = typer.Option(None, "--min-shadow", metavar="DURATION",
                                                  help="Set how long each version mirrors traffic before it "
                                                       "takes live traffic, e.g. 48h; 0: only the platform's.")
                   ) -> None:
    """Show or set TEAM's mandatory shadow stage (team admins set it; the platform's minimum still applies)."""
    from shipyard.config import min_shadow as parse_min_shadow

    seconds = parse_min_shadow(min_shadow, "--min-shadow") if min_shadow is not None else None
    api = remote_api()
    if api is None:
        from shipyard.config import load_settings
        from shipyard.governance.team_policy import set_team_policy, team_policy

        if seconds is not None:
            policy = set_team_policy(team, min_shadow_s=seconds)
        else:
            from shipyard.governance.directory import get_team

            get_team(team)
            policy = team_policy(team)
        platform = load_settings().min_shadow_s
    else:
        from shipyard.client import teams as remote

        with api:
            policy, platform = (remote.set_team_policy(api, team, min_shadow_s=seconds) if seconds is not None
                                else remote.team_policy(api, team))
    print(f"{team}: min_shadow {policy.min_shadow_s:g} s (platform: {platform:g} s; in force: "
          f"{max(platform, policy.min_shadow_s):g} s)")
