"""A registered model's folder holding only an ``MLmodel`` with an input signature: enough for the
lifecycle's serving-contract checks, without training anything."""

import json
from pathlib import Path


def signed_model_folder(path: Path, columns: dict[str, str] | None = None) -> str:
    """Write ``path/MLmodel`` declaring ``columns`` (name → MLflow type) as inputs; the folder's URI."""
    columns = columns or {"tenure": "double", "plan": "string"}
    inputs = json.dumps([{"type": kind, "name": name, "required": True} for name, kind in columns.items()])
    path.mkdir(parents=True, exist_ok=True)
    (path / "MLmodel").write_text(f"flavors: {{}}\nsignature:\n  inputs: '{inputs}'\n  outputs: null\n")
    return path.as_uri()
