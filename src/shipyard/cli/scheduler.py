"""``shipyard scheduler extender | policies``."""

from __future__ import annotations

import typer

from shipyard.cli import app

scheduler_app = typer.Typer(help="GPU- and fragmentation-aware placement of jobs on a node inventory.",
                            no_args_is_help=True)
app.add_typer(scheduler_app, name="scheduler")


@scheduler_app.command("extender")
def extender_command(host: str = typer.Option("127.0.0.1", "--host"),
                     port: int = typer.Option(8888, "--port", min=1, max=65535),
                     policy: str = typer.Option("fgd-pack", "--policy", help="The scoring policy (shipyard "
                                                                              "scheduler policies lists them)."),
                     workload: str = typer.Option(None, "--workload",
                                                  help="An openb-style task CSV whose task shapes FGD measures "
                                                       "fragmentation against (default: the pods asked about "
                                                       "so far).")) -> None:
    """Serve the kube-scheduler extender protocol: POST /filter, /prioritize, /preempt."""
    from shipyard.scheduling.extender import Extender
    from shipyard.scheduling.fragmentation import Workload
    from shipyard.scheduling.trace import load_tasks

    extender = Extender(policy, workload=Workload.of(load_tasks(workload)) if workload else None)
    import uvicorn

    from shipyard.scheduling.extender_app import create_app

    print(f"scheduler extender ({policy}) on http://{host}:{port}: filter, prioritize, preempt "
          f"(deploy/kube-scheduler/ wires it into a kube-scheduler)")
    uvicorn.run(create_app(extender), host=host, port=port, log_level="warning", access_log=False)


@scheduler_app.command("policies")
def policies_command() -> None:
    """List the scoring policies."""
    from shipyard.scheduling.policies import POLICIES

    for name in POLICIES:
        print(name)
