"""``shipyard models list | show | promote | approve | reject | rollback | archive | verify``."""

from __future__ import annotations

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

    from shipyard.registry.lifecycle import list_states

    states = list_states(model)
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
    from shipyard.governance.audit import read_events
    from shipyard.registry.lifecycle import get_state

    state = get_state(model, version)
    print(f"{model} version {version}: {state.state}" + (f" ({state.reason})" if state.reason else ""))
    print(f"  approval: {state.approval}" + (f", approved by {state.approved_by}" if state.approved_by else ""))
    for e in read_events(model=model):
        if e.version == str(version):
            print(f"  {e.time:%Y-%m-%d %H:%M:%S}  {e.action:<18} {e.actor:<12} {e.reason or ''}")


def resolve_actor(actor: str | None) -> str:
    from shipyard.governance.identity import current_actor

    return actor or current_actor()


@models_app.command("promote")
def promote_command(model: str, version: str,
                    to: str = typer.Option("production", "--to", help="staging or production."),
                    reason: str = typer.Option(None, "--reason"),
                    actor: str = typer.Option(None, "--actor", help="Who promotes (default: SHIPYARD_ACTOR or login).")) -> None:
    """Move a version to staging or production."""
    from shipyard.errors import SpecError
    from shipyard.registry.lifecycle import transition

    if to not in _TARGETS:
        raise SpecError(f"--to '{to}' is not a promotion target", hint="use --to staging or --to production")
    state = transition(model, version, to, actor=resolve_actor(actor), reason=reason, action="promoted")
    print(f"{model} version {version} is now {state.state}")


@models_app.command("approve")
def approve_command(model: str, version: str,
                    approver: str = typer.Option(None, "--approver", help="Who approves (required)."),
                    reason: str = typer.Option(None, "--reason")) -> None:
    """Approve a version for production (needed when the spec says approval: manual)."""
    from shipyard.registry.lifecycle import approve

    state = approve(model, version, approver=approver or "", reason=reason)
    print(f"{model} version {version} approved by {state.approved_by}")


@models_app.command("reject")
def reject_command(model: str, version: str, reason: str = typer.Option(..., "--reason"),
                   actor: str = typer.Option(None, "--actor")) -> None:
    """Reject a candidate or staging version."""
    from shipyard.registry.lifecycle import transition

    transition(model, version, "rejected", actor=resolve_actor(actor), reason=reason)
    print(f"{model} version {version} rejected")


@models_app.command("archive")
def archive_command(model: str, version: str, reason: str = typer.Option(None, "--reason"),
                    actor: str = typer.Option(None, "--actor")) -> None:
    """Archive a version."""
    from shipyard.registry.lifecycle import transition

    transition(model, version, "archived", actor=resolve_actor(actor), reason=reason)
    print(f"{model} version {version} archived")


@models_app.command("rollback")
def rollback_command(model: str, to: str = typer.Option(None, "--to", help="Version to restore (default: the previous production version)."),
                     reason: str = typer.Option(None, "--reason", help="Why (required)."),
                     force: bool = typer.Option(False, "--force", help="Roll back even if its inputs no longer "
                                                                       "match (or cannot be checked)."),
                     actor: str = typer.Option(None, "--actor")) -> None:
    """Put the previous production version back in production."""
    from shipyard.registry.lifecycle import rollback

    state = rollback(model, actor=resolve_actor(actor), reason=reason or "", to_version=to, force=force)
    print(f"{model} version {state.version} is back in production")


@models_app.command("verify")
def verify_command(model: str, version: str) -> None:
    """Make MLflow's aliases and tags show the store's lifecycle again, check the deployment agrees with the registry, and check every file of
    the version (model, MLmodel, examples, requirements, card) against its recorded digest."""
    from shipyard.errors import RefusedError
    from shipyard.registry.cards import verify_card
    from shipyard.registry.lifecycle import production_version, reconcile_model
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
    problems = verify_card(model, version)
    if problems:
        raise RefusedError(f"the model card of {model} version {version} does not verify: " + "; ".join(problems),
                           headline="model card changed")
    print(f"{model} version {version}: model card (Markdown and HTML) matches its recorded digests")


@app.command("gate")
def gate_command(model: str, version: str, json_output: bool = typer.Option(False, "--json")) -> None:
    """Evaluate a version's promotion gates now; exits non-zero when any gate fails (for CI)."""
    import json

    from shipyard.registry.gating import gate_version

    report = gate_version(model, version, actor=resolve_actor(None))
    if json_output:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for result in report.results:
            mark = "pass" if result.passed else "FAIL"
            print(f"  [{mark}] {result.gate:<12} {result.name}: {result.reason}")
        print(f"{model} version {version}: {report.outcome}")
    if not report.passed:
        raise typer.Exit(6)


@models_app.command("compare")
def compare_command(model: str, left: str, right: str, json_output: bool = typer.Option(False, "--json")) -> None:
    """Two versions side by side: state, holdout metrics, changed parameters, data digests, input changes."""
    import json

    from rich.console import Console
    from rich.table import Table

    from shipyard.registry.compare import compare_versions

    result = compare_versions(model, left, right)
    if json_output:
        print(json.dumps(result, indent=2, default=str))
        return
    table = Table(title=f"{model}: version {left} vs {right}")
    for column in ("", f"v{left}", f"v{right}"):
        table.add_column(column)
    table.add_row("state", *result["state"])
    for section in ("metrics", "params", "data", "inputs"):
        for name, (a, b) in result[section].items():
            fmt = (lambda v: f"{v:.4f}") if section == "metrics" else str  # noqa: E731
            table.add_row(f"{section}: {name}", "—" if a is None else fmt(a), "—" if b is None else fmt(b))
    Console().print(table)
