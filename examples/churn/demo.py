"""The end-to-end demo: generate the churn data, run the pipeline, show what was made."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def serve_sample(data, model: str) -> None:
    """Serve the model's deployment through the gateway for a moment and send requests in both protocols."""
    import httpx
    import pandas as pd

    from shipyard.serving.server import background_gateway, build_gateway

    gateway = build_gateway([model])
    route = gateway.routes[model]
    sample = pd.read_csv(data).head(3)[route.stable.columns]
    records = sample.astype(object).where(sample.notna(), None).to_dict(orient="records")
    with background_gateway(gateway) as url:
        reply = httpx.post(f"{url}/models/{model}/invocations", json={"dataframe_records": records})
        tensors = [{"name": c, "shape": [len(records)], "datatype": "BYTES" if sample[c].dtype == object else "FP64",
                    "data": [r[c] for r in records]} for c in route.stable.columns]
        v2_reply = httpx.post(f"{url}/v2/models/{model}/infer", json={"id": "demo", "inputs": tensors}).json()
    print(f"gateway answered MLflow /invocations from version {reply.headers['x-shipyard-model-version']} "
          f"({reply.headers['x-shipyard-arm']} arm): {reply.json()}")
    proba = next(o for o in v2_reply["outputs"] if o["name"] == "predict_proba")
    print(f"gateway answered Open Inference Protocol /v2 infer (id {v2_reply['id']}): "
          f"churn probabilities {[round(p, 3) for p in proba['data'][1::2]]}")
    print(f"predictions logged under {gateway.prediction_log.root}")


def _send(url: str, model: str, frame, columns, *, rows_per_request: int = 10) -> int:
    import httpx

    sent = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for start in range(0, len(frame), rows_per_request):
            chunk = frame.iloc[start:start + rows_per_request][columns]
            records = chunk.astype(object).where(chunk.notna(), None).to_dict(orient="records")
            if client.post(f"/models/{model}/invocations", json={"dataframe_records": records}).status_code == 200:
                sent += 1
    return sent


def closed_loop(data, model: str) -> None:
    """Drifted traffic → drift report → webhook alert → retrain → the new version rolled out."""
    import time

    from generate import generate_churn
    from webhook_receiver import Receiver

    from shipyard.config import load_settings
    from shipyard.monitoring.html import render_html
    from shipyard.monitoring.watch import check
    from shipyard.serving.server import background_gateway, build_gateway

    settings = load_settings()
    drifted = generate_churn(n_rows=20000, seed=1, shift=1.0)
    print("\nA month later the customers have changed (the generator's shift knob): sending 2,000 of them")
    gateway = build_gateway([model], poll_interval_s=0.2, tick_s=0.2)
    columns = gateway.routes[model].stable.columns
    with background_gateway(gateway) as url:
        _send(url, model, drifted.head(2000), columns)
    drifted.to_csv(data, index=False)  # the data source as it is now: what a retrain reads
    try:
        receiver = Receiver(port=8765)  # the webhook the pipeline YAML names
    except OSError:
        print("  (port 8765 is taken, so the webhook alert will be recorded as failed)")
        receiver = contextlib.nullcontext(type("Nobody", (), {"received": []})())
    with receiver as received:
        outcome = check(model, settings=settings)
    run = outcome.run
    report_path = settings.home / "reports" / f"drift-{model}-{run.id}.html"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render_html(run.report))
    print(f"drift of {model} version {run.version}: {run.severity}; drifted: {', '.join(run.report['drifted'])}")
    steady = [n for n, f in run.report["features"].items() if f["severity"] == "ok"]
    print(f"  unchanged: {', '.join(steady) or '—'}")
    print(f"  HTML drift report: {report_path}")
    for alert in outcome.alerts:
        print(f"  alert {alert.previous_severity} → {alert.severity} sent to {alert.target}: {alert.status}; "
              f"the receiver got {len(received.received)} event(s)")
    retrain = outcome.retrain or {}
    print(f"  retrain: {retrain.get('outcome')} (pipeline run {retrain.get('pipeline_run_id')}), new version "
          f"{retrain.get('new_version')}: {retrain.get('gate')}; deployment: {retrain.get('deployment')}")
    if not retrain.get("deployment") or "shadow" not in str(retrain.get("deployment")):
        return
    print("Rolling the new version out while traffic flows (shadow → 50% → 100%):")
    gateway = build_gateway([model], poll_interval_s=0.2, tick_s=0.2)
    seen, deadline, offset = [], time.monotonic() + 90, 2000
    with background_gateway(gateway) as url:
        while time.monotonic() < deadline:
            route = gateway.routes[model]
            phase = f"{route.phase}" + (f" {route.canary_weight:.0%}" if route.canary is not None else "")
            if not seen or seen[-1] != phase:
                seen.append(phase)
                print(f"  {phase}: stable v{route.stable.version}"
                      + (f", canary v{route.canary.version}" if route.canary else "")
                      + (f", shadow v{route.shadow.version}" if route.shadow else ""))
            if route.phase in ("completed", "rolled_back", "cancelled"):
                break
            _send(url, model, drifted.iloc[offset % 18000:offset % 18000 + 200], columns)
            offset += 200


def ask_server(model: str) -> None:
    """The platform API (``shipyard server``) over the same stores, on a thread for a moment: two real answers."""
    import httpx

    from shipyard.server.app import background_server

    with background_server(require_auth=False) as url, httpx.Client(base_url=f"{url}/api/v1", timeout=30) as api:
        entry = api.get(f"/models/{model}").raise_for_status().json()
        versions = api.get(f"/models/{model}/versions", params={"sort": "version"}).raise_for_status().json()
    print(f"\nThe platform API (shipyard server; here on {url} without tokens, as `--no-auth` allows on loopback):")
    print(f"  GET /api/v1/models/{model}: team {entry['team']}, {entry['versions']} versions, production "
          f"v{entry['production_version']}, stable arm v{entry['stable_version']}, drift {entry['drift_severity']}")
    print(f"  GET /api/v1/models/{model}/versions: "
          + ", ".join(f"v{v['version']} {v['state']}" for v in versions["items"]))


def main() -> int:
    from generate import generate_churn

    from shipyard.cli import main as shipyard
    from shipyard.config import load_settings
    from shipyard.errors import GateFailedError

    data = HERE / "data" / "churn.csv"
    data.parent.mkdir(parents=True, exist_ok=True)
    generate_churn(n_rows=20000, seed=0).to_csv(data, index=False)  # the same bytes every time: re-runs hit the cache
    print(f"generated {data}")
    code = shipyard(["run", str(HERE / "pipeline.yaml")])
    if code not in (0, GateFailedError.exit_code):  # a rejected version is registered: there is still a loop to show
        return code
    from shipyard.registry.cards import card_record
    from shipyard.store import runs as store

    latest = store.list_runs(pipeline="churn", limit=1)[0]
    shipyard(["runs", "show", latest.id])
    if latest.model_name:
        shipyard(["lineage", latest.model_name, str(latest.model_version)])
        shipyard(["models", "list", latest.model_name])
        shipyard(["audit", "verify"])
        card = card_record(latest.model_name, latest.model_version)
        if card is not None:
            print(f"model card: runs:/{card.mlflow_run_id}/model_card/model_card.html "
                  f"(sha256 {card.html_sha256[:16]}…; `shipyard models card {latest.model_name} "
                  f"{latest.model_version}` prints it, `--html FILE` writes the page)")
        shipyard(["traffic", "show", latest.model_name])
        serve_sample(HERE / "data" / "churn.csv", latest.model_name)
        closed_loop(data, latest.model_name)
        ask_server(latest.model_name)
    settings = load_settings()
    print()
    print("Where to look:")
    print(f"  runs:      shipyard runs list   (metadata store {settings.database_url})")
    print(f"  artifacts: {settings.artifact_root}")
    print(f"  MLflow UI: mlflow ui --backend-store-uri {settings.mlflow_tracking_uri} "
          f"--default-artifact-root {settings.mlflow_artifact_root}")
    print(f"  re-run (every step from cache): shipyard run {os.path.relpath(HERE / 'pipeline.yaml')}")
    print("  traffic:   shipyard traffic show   (shipyard deploy / traffic set / rollback change it)")
    if latest.model_name:
        print()
        print(f"Keep the model serving (Ctrl-C stops it): shipyard serve {latest.model_name} --port 8080")
    print()
    print("The dashboard: start the API server with `shipyard server --port 8000 --no-auth`, then open")
    dashboard = "http://127.0.0.1:8000/"
    if latest.model_name:
        print(f"  {dashboard}models/{latest.model_name}  (and {dashboard}deployments/{latest.model_name}, "
              f"{dashboard}models/{latest.model_name}/drift)")
    print(f"Dashboard: {dashboard}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
