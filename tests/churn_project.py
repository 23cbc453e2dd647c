"""Small pipelines on the churn example's numeric columns, with their data, for the step-run and Airflow tests."""

import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SWEEP_SPACE = "{C: {type: float, low: 0.001, high: 10, log: true}}"


def churn_spec(name: str, model: str, extra: str = "") -> str:
    """A pipeline named ``name`` training ``model`` (a YAML mapping) on four imputed and scaled numeric columns
    of churn.csv; ``extra`` is more top-level YAML."""
    return textwrap.dedent(f"""\
        name: {name}
        data:
          source: {{type: csv, path: churn.csv}}
          target: churned
        split: {{method: stratified, holdout: 0.25, seed: 1}}
        features:
          - columns: [age, tenure_months, monthly_charges, support_calls]
            transforms: [{{kind: impute}}, {{kind: scale}}]
        model: {model}
        """) + textwrap.dedent(extra)


def swept_spec(n_trials: int, sampler_seed: int) -> str:
    """A LogisticRegression over C, swept in ``n_trials`` trials with two-fold cross-validation."""
    return churn_spec("swept", "{flavor: sklearn, estimator: LogisticRegression, params: {max_iter: 200}}", f"""\
        sweep:
          n_trials: {n_trials}
          metric: roc_auc
          cv_folds: 2
          sampler_seed: {sampler_seed}
          space: {SWEEP_SPACE}
        """)


def write_churn_project(folder: Path, spec: str, *, rows: int, seed: int) -> Path:
    """``folder`` holding ``rows`` generated churn rows and ``spec`` as pipeline.yaml; the spec's path."""
    sys.path.insert(0, str(ROOT / "examples" / "churn"))
    from generate import generate_churn

    folder.mkdir(parents=True, exist_ok=True)
    generate_churn(n_rows=rows, seed=seed).to_csv(folder / "churn.csv", index=False)
    (folder / "pipeline.yaml").write_text(spec)
    return folder / "pipeline.yaml"
