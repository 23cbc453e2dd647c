"""``shipyard deploy``, ``shipyard traffic show | set`` and ``shipyard rollback``."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import typer

from shipyard.cli import app
from shipyard.cli.models import resolve_actor
from shipyard.client.remote import remote_api, same_actor
from shipyard.errors import SpecError, UsageError

traffic_app = typer.Typer(help="How each deployed model's traffic is split between its versions.",
                          no_args_is_help=True)
app.add_typer(traffic_app, name="traffic")


def _percent(text: str, what: str) -> float:
    """A percentage from 0 to 100."""
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise UsageError(f"{what}: '{text}' is not a percentage; write e.g. 10 for 10%") from None
    if not 0 <= value <= 100:
        raise UsageError(f"{what}: {value:g}% is not between 0 and 100")
    return value


def _fraction(percent: float | None) -> float | None:
    return None if percent is None else percent / 100


def _arm(text: str, role: str) -> tuple[str, float | None] | None:
    """``VERSION[:PERCENT]`` (the percent as given) or ``none``."""
    if text.lower() == "none":
        return None
    version, _, share = text.partition(":")
    if not version.isdigit():
        raise UsageError(f"--{role} {text}: write VERSION[:PERCENT] (e.g. 4:10) or 'none' to remove the arm")
    return version, _percent(share, f"--{role}") if share else None


def _show(state, failures=()) -> None:
    print(f"{state.model}  revision {state.revision}  (changed {state.updated_at:%Y-%m-%d %H:%M:%S} by "
          f"{state.updated_by})")
    shares = state.shares()
    now = datetime.now(timezone.utc)
    for arm in state.arms:
        share = f"mirrors {arm.weight:.0%}" if arm.role == "shadow" else f"{shares.get(arm.role, 0):.0%} of traffic"
        failed = [f for f in failures if f.version == arm.version]
        print(f"  {arm.role:<7} version {arm.version:<5} {share}" + ("  NOT LOADED" if failed else ""))
        for failure in failed:
            instead = {"stable": "the gateway keeps its previous stable version, if it had one",
                       "shadow": "nothing is mirrored"}.get(arm.role, "its share is served by the stable arm")
            print(f"    not loaded on {failure.gateway} ({failure.attempts} attempts, last "
                  f"{(now - failure.last_failed_at).total_seconds():.0f} s ago; {instead}): {failure.reason}")
    if state.routing_key:
        print(f"  A/B routing key: {state.routing_key}")
    if state.rollout:
        rollout = state.rollout
        steps = rollout["plan"]["canary"]["steps"]
        where = f"step {rollout.get('step', 0) + 1}/{len(steps)}" if rollout["phase"] == "canary" else ""
        why = rollout.get("reason") or rollout.get("note")
        print(f"  rollout of version {rollout['version']}: {rollout['phase']} {where}".rstrip()
              + (f" ({why})" if why else ""))


@app.command("deploy")
def deploy_command(model: str, version: str,
                   strategy: str = typer.Option("blue-green", "--strategy",
                                                help="blue-green (switch stable), canary, ab, shadow, or rollout "
                                                     "(shadow/canary steps judged by SLOs)."),
                   weight: str = typer.Option(None, "--weight", help="Percent of traffic for canary/ab, mirrored "
                                                                      "for shadow."),
                   routing_key: str = typer.Option(None, "--routing-key", help="header:NAME or field:NAME (ab)."),
                   spec: str = typer.Option(None, "--spec", help="A pipeline YAML whose deployment: section is the "
                                                                 "rollout plan (rollout)."),
                   reason: str = typer.Option(None, "--reason"),
                   actor: str = typer.Option(None, "--actor")) -> None:
    """Put a version into a model's live traffic."""
    plan = None
    if spec:
        from shipyard.spec.loader import load_spec

        loaded = load_spec(spec)
        if loaded.spec.deployment is None:
            raise SpecError(f"{spec} has no deployment: section to take the rollout plan from")
        plan = loaded.spec.deployment
    percent = _percent(weight, "--weight") if weight else None
    api = remote_api()
    if api is None:
        from shipyard.serving.traffic import deploy

        state = deploy(model, version, strategy=strategy, weight=_fraction(percent), routing_key=routing_key,
                       plan=plan, actor=resolve_actor(actor), reason=reason)
    else:
        from shipyard.client import deployments as remote

        with api:
            same_actor(actor, api)
            state = remote.deploy(api, model, version, strategy=strategy, percent=percent,
                                  routing_key=routing_key, plan=plan, reason=reason)
    _show(state)


@traffic_app.command("show")
def show_command(model: str = typer.Argument(None, help="Only this model."),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Each deployment's arms, shares and rollout, and the versions a running gateway could not load."""
    api = remote_api()
    if api is None:
        from shipyard.serving.deployments import get_deployment, list_deployments
        from shipyard.serving.load_failures import load_failures

        states = [get_deployment(model)] if model else list_deployments()
        failures = load_failures(model)
    else:
        from shipyard.client import deployments as remote

        with api:
            if model:
                state, failures = remote.get_deployment(api, model)
                states = [state]
            else:
                states, failures = remote.list_deployments(api)
    if as_json:
        print(json.dumps([s.to_dict() | {"load_failures": [f.to_dict() for f in failures if f.model == s.model]}
                          for s in states], indent=2))
        return
    if not states:
        print("nothing is deployed yet; deploy a version with: shipyard deploy MODEL VERSION")
    for state in states:
        _show(state, [f for f in failures if f.model == state.model])


@traffic_app.command("set")
def set_command(model: str,
                stable: str = typer.Option(None, "--stable", help="VERSION: atomically switch the stable arm."),
                canary: str = typer.Option(None, "--canary", help="VERSION[:PERCENT] or none."),
                ab: str = typer.Option(None, "--ab", help="VERSION[:PERCENT] or none."),
                shadow: str = typer.Option(None, "--shadow", help="VERSION[:PERCENT mirrored] or none."),
                routing_key: str = typer.Option(None, "--routing-key", help="header:NAME or field:NAME."),
                reason: str = typer.Option(None, "--reason"),
                actor: str = typer.Option(None, "--actor")) -> None:
    """Change the split by hand (a rollout in flight is cancelled)."""
    arms: dict[str, tuple[str, float | None] | None] = {}
    if stable is not None:
        if not stable.isdigit():
            raise UsageError(f"--stable {stable}: give a version number")
        arms["stable"] = (stable, None)
    for role, text in (("canary", canary), ("ab", ab), ("shadow", shadow)):
        if text is not None:
            arms[role] = _arm(text, role)
    api = remote_api()
    if api is None:
        from shipyard.serving.traffic import set_traffic

        fractions = {role: None if arm is None else (arm[0], _fraction(arm[1])) for role, arm in arms.items()}
        state = set_traffic(model, fractions, routing_key=routing_key, actor=resolve_actor(actor), reason=reason)
    else:
        from shipyard.client import deployments as remote

        with api:
            same_actor(actor, api)
            state = remote.set_traffic(api, model, arms, routing_key=routing_key, reason=reason)
    _show(state)


@app.command("rollback")
def rollback_command(model: str, reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit log)."),
                     force: bool = typer.Option(False, "--force", help="Return to the previous version even if its "
                                                                       "inputs no longer match (or cannot be checked)."),
                     actor: str = typer.Option(None, "--actor")) -> None:
    """Take the newest change out of traffic: the canary/A-B/rollout, or else production's latest version."""
    api = remote_api()
    if api is None:
        from shipyard.serving.traffic import rollback

        state = rollback(model, actor=resolve_actor(actor), reason=reason, force=force)
    else:
        from shipyard.client import deployments as remote

        with api:
            same_actor(actor, api)
            state = remote.rollback(api, model, reason=reason, force=force)
    _show(state)
