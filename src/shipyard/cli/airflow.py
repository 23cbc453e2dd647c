"""``shipyard airflow export | begin``: pipelines as Airflow 3 DAGs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from shipyard.cli import app

airflow_app = typer.Typer(help="Run pipelines on Apache Airflow 3: export a DAG file; the tasks it runs.",
                          no_args_is_help=True)
app.add_typer(airflow_app, name="airflow")

XCOM_FILE = Path("/airflow/xcom/return.json")
"""Where a KubernetesPodOperator's sidecar reads the task's return value from."""


def _default_shipyard() -> str:
    beside = Path(sys.executable).parent / "shipyard"
    return str(beside) if beside.is_file() else "shipyard"


def _pairs(values: list[str], option: str) -> dict[str, str]:
    from shipyard.errors import SpecError

    found = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise SpecError(f"{option} {value!r} is not KEY=VALUE", headline="invalid option",
                            hint=f"e.g. {option} SHIPYARD_DATABASE_URL=postgresql+psycopg://db/shipyard")
        found[key] = rest
    return found


@airflow_app.command("export")
def export_command(
        spec: Path = typer.Argument(..., help="The pipeline YAML."),
        out: Path = typer.Option(Path("dags"), "--out", help="The folder the DAG file is written to."),
        flavour: str = typer.Option("process", "--flavour",
                                    help="process: steps run on the Airflow worker; kubernetes: one pod per step."),
        shipyard: str = typer.Option(None, "--shipyard",
                                     help="The shipyard executable the tasks run (default: the one beside this "
                                          "Python, or `shipyard` on the worker's PATH; in a pod, `shipyard`)."),
        env: list[str] = typer.Option([], "--env", help="KEY=VALUE set for every task; repeatable."),
        spec_path: str = typer.Option(None, "--spec-path",
                                      help="Where the YAML is on the workers or in the image (default: its "
                                           "path here)."),
        dag_id: str = typer.Option(None, "--dag-id", help="Default: shipyard_<pipeline name>."),
        image: str = typer.Option(None, "--image", help="kubernetes: the step image (default: the spec's "
                                                        "kubernetes.image, then SHIPYARD_K8S_IMAGE)."),
        namespace: str = typer.Option(None, "--namespace",
                                      help="kubernetes: the pods' namespace (default: the spec's "
                                           "kubernetes.namespace)."),
        pool: str = typer.Option(None, "--pool", help="kubernetes: the node pool of every step, spot or "
                                                      "on-demand (default: each step's resources.spot)."),
        priority_class: str = typer.Option(None, "--priority-class",
                                           help="kubernetes: every pod's priorityClassName (default: each "
                                                "step's resources.priority)."),
        node_selector: list[str] = typer.Option([], "--node-selector",
                                                help="kubernetes: LABEL=VALUE a node must have; repeatable."),
) -> None:
    """Write an Airflow DAG file for a pipeline: one task per step."""
    from shipyard.pipeline.airflow_dag import ExportOptions, default_dag_id, render_dag
    from shipyard.pipeline.airflow_pod import PodOptions
    from shipyard.pipeline.api import plan_spec
    from shipyard.spec.loader import load_spec

    loaded = load_spec(spec)
    pod = PodOptions(image=image, namespace=namespace,
                     pool=pool, priority_class=priority_class,
                     node_selector=_pairs(node_selector, "--node-selector"))
    default = "shipyard" if flavour == "kubernetes" else _default_shipyard()
    options = ExportOptions(flavour=flavour, shipyard=shipyard or default, env=_pairs(env, "--env"),
                            spec_path=spec_path, dag_id=dag_id, pod=pod)
    text = render_dag(loaded, plan_spec(loaded).dag, options)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{dag_id or default_dag_id(loaded.spec.name)}.py"
    target.write_text(text)
    schedule = loaded.spec.schedule or "none (triggered only)"
    print(f"wrote {target} ({flavour} tasks, schedule {schedule}, catchup {loaded.spec.catchup})")


@airflow_app.command("begin")
def begin_command(spec: Path = typer.Argument(..., help="The pipeline YAML."),
                  dag_id: str = typer.Option(..., "--dag-id"),
                  dag_run_id: str = typer.Option(..., "--dag-run-id"),
                  xcom: bool = typer.Option(False, "--xcom", help=f"Also write the run id to {XCOM_FILE}.")) -> None:
    """Open the shipyard run for an Airflow DAG run; prints its id (the task's return value)."""
    from shipyard.pipeline.airflow_run import begin

    run_id = begin(spec, dag_id=dag_id, dag_run_id=dag_run_id)
    if xcom:
        XCOM_FILE.parent.mkdir(parents=True, exist_ok=True)
        XCOM_FILE.write_text(json.dumps(run_id))
    print(f"shipyard run for Airflow DAG run {dag_id}/{dag_run_id}:", file=sys.stderr)
    print(run_id)
