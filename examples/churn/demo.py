"""The end-to-end demo: generate the churn data, run the pipeline, show what was made."""

from __future__ import annotations

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


def main() -> int:
    from generate import generate_churn

    from shipyard.cli import main as shipyard
    from shipyard.config import load_settings

    data = HERE / "data" / "churn.csv"
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        generate_churn(n_rows=20000, seed=0).to_csv(data, index=False)
        print(f"generated {data}")
    code = shipyard(["run", str(HERE / "pipeline.yaml")])
    if code != 0:
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
                  f"(sha256 {card.html_sha256[:16]}…; `shipyard models verify {latest.model_name} "
                  f"{latest.model_version}` checks it)")
        shipyard(["traffic", "show", latest.model_name])
        serve_sample(HERE / "data" / "churn.csv", latest.model_name)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
