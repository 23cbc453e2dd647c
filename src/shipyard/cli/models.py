"""``shipyard models list | show | card | promote | approve | reject | rollback | archive | verify``."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli import app

models_app = typer.Typer(help="Registered model versions and their lifecycle.", no_args_is_help=True)
app.add_typer(models_app, name="models")

_TARGETS = ("staging", "production")


@models_app.command("list")
def list_command(model: str = typer.Argument(None, help="Only this model.")) -> None:
    """Every version known to the lifecycle, with its state."""
    from rich.console import Console
    from rich.table import Table

    api = remote_api()
    if api is None:
        from shipyard.registry.lifecycle import list_states

        states = list_states(model)
    else:
        from shipyard.client import models as remote

        with api:
            states = remote.list_states(api, model)
    if not states:
        print("no registered models yet; run a pipeline with: shipyard run PIPELINE_YAML")
        return
    table = Table()
    for column in ("model", "version", "state", "approval", "updated", "reason"):
        table.add_column(column)
    for s in states:
        approval = f"approved by {s.approved_by}" if s.approved_by else s.approval
        table.add_row(s.model, s.version, s.state, approval, s.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
                      s.reason or "")
    Console().print(table)


@models_app.command("show")
def show_command(model: str, version: str) -> None:
    """One version's state and its audit history."""
    api = remote_api()
    if api is None:
        from shipyard.governance.audit import read_events
        from shipyard.registry.lifecycle import get_state

        state = get_state(model, version)
        history = [e for e in read_events(model=model) if e.version == str(version)]
    else:
        from shipyard.client import models as remote

        with api:
            state, history = remote.version_history(api, model, version)
    print(f"{model} version {version}: {state.state}" + (f" ({state.reason})" if state.reason else ""))
    print(f"  approval: {state.approval}" + (f", approved by {state.approved_by}" if state.approved_by else ""))
    for e in history:
        print(f"  {e.time:%Y-%m-%d %H:%M:%S}  {e.action:<18} {e.actor:<12} {e.reason or ''}")


@models_app.command("card")
def card_command(model: str, version: str,
                 html: Path = typer.Option(None, "--html", metavar="FILE", help="Write the HTML page here instead."),
                 json_output: bool = typer.Option(False, "--json", help="Print where the card lives and its "
                                                                        "digests as JSON.")) -> None:
    """Print a version's model card (Markdown), checked against its recorded digest."""
    import json

    from shipyard.errors import UsageError
    from shipyard.registry.cards import card_uri

    if html is not None and json_output:
        raise UsageError("give --html FILE or --json, not both")
    api = remote_api()
    if api is None:
        from shipyard.registry.cards import read_card
        from shipyard.registry.lifecycle import gate_overrides

        from shipyard.serving.shadow_stage import shadow_overrides

        record, text = read_card(model, version, html_page=html is not None)
        overrides = gate_overrides(model, version)
        shadow = shadow_overrides(model, version)
    else:
        from shipyard.client import models as remote

        with api:
            record, text, overrides, shadow = remote.read_card(api, model, version, html_page=html is not None)
    if html is not None:
        html.write_text(text)
        print(f"model card of {model} version {version} written to {html.resolve()}")
    elif json_output:
        print(json.dumps({"model": model, "version": str(version), "mlflow_run_id": record.mlflow_run_id,
                          "markdown": card_uri(record), "html": card_uri(record, html_page=True),
                          "markdown_sha256": record.markdown_sha256, "html_sha256": record.html_sha256,
                          "gate_overrides": [{"by": e.actor, "authenticated": e.authenticated, "reason": e.reason,
                                              "time": e.time.isoformat()} for e in overrides],
                          "shadow_overrides": [{"by": e.actor, "authenticated": e.authenticated, "reason": e.reason,
                                                "time": e.time.isoformat(), "allowed_s": e.details["allowed_s"],
                                                "required_s": e.details["required_s"]} for e in shadow]}, indent=2))
    else:
        print(text)
        if overrides:
            print("\n## Gate overrides\n")
            for e in overrides:
                who = e.actor + ("" if e.authenticated else " (unauthenticated)")
                print(f"- {e.time:%Y-%m-%d %H:%M} UTC by {who}: {e.reason}")
        if shadow:
            print("\n## Shadow-stage overrides\n")
            for e in shadow:
                who = e.actor + ("" if e.authenticated else " (unauthenticated)")
                stage = ("skipped" if not e.details["allowed_s"] else
                         f"shortened to {e.details['allowed_s']:g} s")
                print(f"- {e.time:%Y-%m-%d %H:%M} UTC by {who}: {stage} (required {e.details['required_s']:g} s): "
                      f"{e.reason}")


def resolve_actor(actor: str | None) -> str:
    from shipyard.governance.identity import current_actor

    return actor or current_actor()


def remote_api():
    """The server's client when SHIPYARD_URL is set, else None (the commands then run in-process)."""
    from shipyard.client.remote import remote_api as api

    return api()


@models_app.command("promote")
def promote_command(model: str, version: str,
                    to: str = typer.Option("production", "--to", help="staging or production."),
                    reason: str = typer.Option(None, "--reason"),
                    actor: str = typer.Option(None, "--actor", help="Who promotes (default: SHIPYARD_ACTOR or login).")) -> None:
    """Move a version to staging or production."""
    from shipyard.errors import UsageError
    if to not in _TARGETS:
        raise UsageError(f"--to '{to}' is not a state a version can be promoted to; allowed: {', '.join(_TARGETS)}",
                         hint="the other states have their own commands: shipyard models reject | archive | rollback")
    api = remote_api()
    if api is None:
        from shipyard.registry.lifecycle import transition

        state = transition(model, version, to, actor=resolve_actor(actor), reason=reason, action="promoted")
    else:
        from shipyard.client import models as remote
        from shipyard.client.remote import same_actor

        with api:
            same_actor(actor, api)
            state = remote.promote(api, model, version, to=to, reason=reason)
    print(f"{model} version {version} is now {state.state}")


@models_app.command("approve")
def approve_command(model: str, version: str,
                    approver: str = typer.Option(None, "--approver", help="Who approves (required in-process; "
                                                 "through a server it is the authenticated identity)."),
                    reason: str = typer.Option(None, "--reason")) -> None:
    """Approve a version for production (needed when the spec says approval: manual)."""
    api = remote_api()
    if api is None:
        from shipyard.registry.lifecycle import approve

        state = approve(model, version, approver=approver or "", reason=reason)
    else:
        from shipyard.client import models as remote
        from shipyard.client.remote import same_actor

        with api:
            same_actor(approver, api, "--approver")
            state = remote.approve(api, model, version, reason=reason)
    print(f"{model} version {version} approved by {state.approved_by}")


@models_app.command("override")
def override_command(model: str, version: str,
                     reason: str = typer.Option(..., "--reason", help="Why production may skip the gates "
                                                                     "(required; shown on the model card).")) -> None:
    """Clear a version for production without a passing gate report (team admins)."""
    api = remote_api()
    if api is None:
        from shipyard.registry.lifecycle import override_gates

        state = override_gates(model, version, reason=reason)
    else:
        from shipyard.client import models as remote

        with api:
            state = remote.override_gates(api, model, version, reason=reason)
    print(f"{model} version {version}: gates overridden, it is {state.state} and may be deployed to production")


@models_app.command("override-shadow")
def override_shadow_command(model: str, version: str,
                            reason: str = typer.Option(..., "--reason", help="Why live traffic may come sooner "
                                                                           "(required; shown on the model card)."),
                            min_shadow: str = typer.Option("0", "--min-shadow", metavar="DURATION",
                                                           help="The shortened stage, e.g. 1h; 0 skips it.")) -> None:
    """Let a version skip or shorten the mandatory shadow stage (team admins)."""
    from shipyard.config import min_shadow as parse_min_shadow

    allowed = parse_min_shadow(min_shadow, "--min-shadow")
    api = remote_api()
    if api is None:
        from shipyard.serving.shadow_stage import override_shadow

        override_shadow(model, version, reason=reason, allowed_s=allowed)
    else:
        from shipyard.client import models as remote

        with api:
            remote.override_shadow(api, model, version, reason=reason, allowed_s=allowed)
    stage = "skip its shadow stage" if not allowed else f"take live traffic after {allowed:g} s of shadow"
    print(f"{model} version {version} may {stage} (recorded in the audit log and on its model card)")


@models_app.command("reject")
def reject_command(model: str, version: str, reason: str = typer.Option(..., "--reason"),
                   actor: str = typer.Option(None, "--actor")) -> None:
    """Reject a candidate or staging version."""
    api = remote_api()
    if api is None:
        from shipyard.registry.lifecycle import reject

        reject(model, version, actor=resolve_actor(actor), reason=reason)
    else:
        from shipyard.client import models as remote
        from shipyard.client.remote import same_actor

        with api:
            same_actor(actor, api)
            remote.reject(api, model, version, reason=reason)
    print(f"{model} version {version} rejected")


@models_app.command("archive")
def archive_command(model: str, version: str, reason: str = typer.Option(None, "--reason"),
                    actor: str = typer.Option(None, "--actor")) -> None:
    """Archive a version."""
    api = remote_api()
    if api is None:
        from shipyard.registry.lifecycle import transition

        transition(model, version, "archived", actor=resolve_actor(actor), reason=reason)
    else:
        from shipyard.client import models as remote
        from shipyard.client.remote import same_actor

        with api:
            same_actor(actor, api)
            remote.archive(api, model, version, reason=reason)
    print(f"{model} version {version} archived")


@models_app.command("rollback")
def rollback_command(model: str, to: str = typer.Option(None, "--to", help="Version to restore (default: the previous production version)."),
                     reason: str = typer.Option(None, "--reason", help="Why (required)."),
                     force: bool = typer.Option(False, "--force", help="Roll back even if its inputs no longer "
                                                                       "match (or cannot be checked)."),
                     actor: str = typer.Option(None, "--actor")) -> None:
    """Put the previous production version back in production."""
    api = remote_api()
    if api is None:
        from shipyard.registry.lifecycle import rollback

        state = rollback(model, actor=resolve_actor(actor), reason=reason or "", to_version=to, force=force)
    else:
        from shipyard.client import models as remote
        from shipyard.client.remote import same_actor

        with api:
            same_actor(actor, api)
            state = remote.rollback(api, model, reason=reason or "", to_version=to, force=force)
    print(f"{model} version {state.version} is back in production")


@models_app.command("verify")
def verify_command(model: str, version: str) -> None:
    """Repair MLflow's aliases and tags from the store, check the deployment agrees with the registry, and check
    every file of the version (model, MLmodel, examples, requirements, card) against its recorded digest."""
    from shipyard.errors import RefusedError, TamperedError
    from shipyard.registry.cards import card_record, verify_card
    from shipyard.registry.lifecycle import production_version, reconcile_model
    from shipyard.registry.versions import get_version_tags
    from shipyard.registry.loading import load_model_version
    from shipyard.serving.deployments import deployment_problems

    for record in reconcile_model(model):
        print(f"repaired MLflow mirror of {record.model} version {record.version} ({record.state})")
    problems = deployment_problems(model)
    if problems:
        production = production_version(model)
        raise RefusedError(f"the deployment of {model} disagrees with the registry: " + "; ".join(problems),
                           headline="deployment out of step",
                           hint=(f"`shipyard deploy {model} {production}` puts the production version on the "
                                 "stable arm" if production else f"deploy a production version of {model}")
                           + f"; `shipyard traffic show {model}` shows the arms")
    print(f"{model}: deployment and registry agree")
    load_model_version(model, version)
    print(f"{model} version {version}: every model file matches its registered digest and loads with allowed "
          "types only")
    if card_record(model, version) is None and not any(
            tag.startswith("shipyard.card.") for tag in get_version_tags(model, version)):
        print(f"{model} version {version}: no model card was written for it, so none is checked")
        return
    problems = verify_card(model, version)
    if problems:
        raise TamperedError(f"the model card of {model} version {version} does not verify: " + "; ".join(problems),
                            headline="model card changed")
    print(f"{model} version {version}: model card (Markdown and HTML) matches its recorded digests")


@app.command("gate")
def gate_command(model: str, version: str, json_output: bool = typer.Option(False, "--json")) -> None:
    """Evaluate a version's promotion gates now; exits 10 when any gate fails (for CI)."""
    import json

    api = remote_api()
    if api is None:
        from shipyard.registry.gating import gate_version

        report = gate_version(model, version, actor=resolve_actor(None))
    else:
        from shipyard.client import models as remote

        with api:
            report = remote.gate(api, model, version)
    if json_output:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for result in report.results:
            mark = "pass" if result.passed else "FAIL"
            print(f"  [{mark}] {result.gate:<12} {result.name}: {result.reason}")
            if result.gate == "drift":
                from shipyard.registry.gates_drift import table_lines

                for feature, judged in table_lines(result.to_dict()):
                    print(f"           {feature:<24} {judged}")
        print(f"{model} version {version}: {report.outcome}")
    if not report.passed:
        from shipyard.errors import GateFailedError

        failed = ", ".join(f"{r.gate} ({r.name})" for r in report.failures)
        raise GateFailedError(f"{model} version {version} failed {failed} and is {report.outcome}",
                              hint=f"the reasons are in its model card and in: shipyard models show {model} {version}")


@models_app.command("compare")
def compare_command(model: str, left: str, right: str, json_output: bool = typer.Option(False, "--json")) -> None:
    """Two versions side by side: state, holdout metrics, changed parameters, data digests, input changes."""
    import json

    from rich.console import Console
    from rich.table import Table

    api = remote_api()
    if api is None:
        from shipyard.registry.compare import compare_versions

        result = compare_versions(model, left, right)
    else:
        from shipyard.client import models as remote

        with api:
            result = remote.compare(api, model, left, right)
    if json_output:
        print(json.dumps(result, indent=2, default=str))
        return
    legend = "↑ higher is better, ↓ lower is better, ✓ the better version"
    table = Table(title=f"{model}: version {left} vs {right}", caption=legend if result["directions"] else None)
    for column in ("", f"v{left}", f"v{right}"):
        table.add_column(column)
    table.add_row("state", *result["state"])
    for section in ("metrics", "params", "data", "inputs"):
        for name, (a, b) in result[section].items():
            label, shown = f"{section}: {name}", ["—" if v is None else str(v) for v in (a, b)]
            if section == "metrics":
                direction = result["directions"].get(name)
                label += {"maximize": " ↑", "minimize": " ↓"}.get(direction, "")
                shown = ["—" if v is None else f"{v:.4f}" + (" ✓" if result["better"][name] == side else "")
                         for v, side in zip((a, b), (left, right))]
            table.add_row(label, *shown)
    Console().print(table)
