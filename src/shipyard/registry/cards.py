"""Model cards: written once at registration as Markdown and HTML, then only verified.

Their SHA-256 digests are kept in the metadata store and on the MLflow version, so
``verify_card`` notices any change to either file.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.spec.metrics import metric
from shipyard.store.db import session_scope
from shipyard.store.models import ModelCard

MARKDOWN_PATH = "model_card/model_card.md"
HTML_PATH = "model_card/model_card.html"
TOP_PER_SLICE = 3


@dataclass(frozen=True, kw_only=True)
class CardFacts:
    model: str
    version: str
    pipeline: str
    description: str | None
    team: str | None
    pipeline_run_id: str
    mlflow_run_id: str
    flavor: str
    estimator: str
    task: str
    data_source: str
    data_digests: dict[str, str]
    rows: dict[str, int]
    validation: dict[str, Any]
    features: list[dict[str, Any]]
    params: dict[str, Any]
    metrics: dict[str, Any]
    slice_metrics: dict[str, dict[str, dict[str, Any]]]
    environment: dict[str, Any]
    gate_results: list[dict[str, Any]] = field(default_factory=list)
    reference_profile: str | None = None
    feature_importance: dict[str, Any] | None = None
    """Mean |SHAP| per input column on a holdout sample, or why it was skipped (see registry.importance)."""
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))


@dataclass(frozen=True, kw_only=True)
class CardRecord:
    model: str
    version: str
    mlflow_run_id: str
    markdown_sha256: str
    html_sha256: str


def _sections(f: CardFacts) -> list[tuple[str, list[tuple[str, str]] | str]]:
    validation = f.validation or {}
    return [
        ("Purpose", f.description or "(no description in the spec)"),
        ("Ownership", [("pipeline", f.pipeline), ("team", f.team or "—"), ("pipeline run", f.pipeline_run_id),
                       ("MLflow run", f.mlflow_run_id), ("created", f.created_at)]),
        ("Model", [("flavor", f.flavor), ("estimator", f.estimator), ("task", f.task)]),
        ("Data", [("source", f.data_source)] + [(f"{k} sha256", v) for k, v in sorted(f.data_digests.items())]
         + [(f"{k} rows", str(v)) for k, v in sorted(f.rows.items())]),
        ("Expectations", [("passed", str(validation.get("passed"))), ("rows in", str(validation.get("rows_in"))),
                          ("rows dropped", str(validation.get("rows_dropped"))),
                          ("on violation", str(validation.get("on_violation")))]),
        ("Features", [(g.get("name") or f"group {i + 1}", f"{', '.join(g['columns'])}: "
                       + (g.get("function") or " → ".join(t["kind"] for t in g.get("transforms", []))))
                      for i, g in enumerate(f.features)]),
        ("Parameters", [(k, str(v)) for k, v in sorted(f.params.items())]),
        ("Holdout metrics", [(_with_direction(k), f"{v:.4f}") for k, v in sorted(f.metrics.items())
                             if isinstance(v, (int, float))]),
        ("Metrics per slice", [(f"{column}={value}", ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                                                for k, v in values.items() if v is not None))
                               for column, groups in sorted(f.slice_metrics.items())
                               for value, values in sorted(groups.items())]),
        ("Feature importance (mean |SHAP|)", _importance(f.feature_importance)),
        *_importance_per_slice(f.feature_importance),
        ("Promotion gates", [(f"{'pass' if r['passed'] else 'FAIL'} {r['gate']}: {r['name']}", r["reason"])
                             for r in f.gate_results] or "No gates were evaluated when this card was written."),
        *_drift_sections(f.gate_results),
        ("Monitoring", [("reference profile sha256", f.reference_profile)] if f.reference_profile
         else "No reference profile was recorded, so drift cannot be computed for this version."),
        ("Environment", [("python", str(f.environment.get("python")))]
         + [(k, str(v)) for k, v in sorted((f.environment.get("packages") or {}).items()) if v]),
    ]


def _importance(found: dict[str, Any] | None) -> list[tuple[str, str]] | str:
    if not found:
        return "Not computed for this version."
    if "skipped" in found:
        return f"Not computed: {found['skipped']}."
    ranked = sorted(found["columns"].items(), key=lambda item: (-item[1], item[0]))
    stored = found.get("values")
    return [("explainer", f"{found['method']} on {found['rows']} holdout rows")] + \
        ([("SHAP values", f"{stored['location']} (Parquet, {stored['rows']} rows, sha256 {stored['sha256']})")]
         if stored else []) + [(column, f"{value:.4g}") for column, value in ranked]


def _importance_per_slice(found: dict[str, Any] | None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The top features of each slice value, when the importance was computed per slice."""
    slices = (found or {}).get("slices") or {}
    if not slices:
        return []
    return [("Top features per slice (mean |SHAP|)",
             [(f"{column}={value} ({figures['rows']} rows)",
               ", ".join(f"{name} {importance:.4g}" for name, importance in
                         sorted(figures["columns"].items(), key=lambda item: (-item[1], item[0]))[:TOP_PER_SLICE]))
              for column, values in sorted(slices.items()) for value, figures in sorted(values.items())])]


def _drift_sections(gate_results: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, str]] | str]]:
    from shipyard.registry.gates_drift import table_lines

    return [("Drift against production traffic", table_lines(r) or r["reason"])
            for r in gate_results if r["gate"] == "drift"]


def _with_direction(name: str) -> str:
    known = metric(name)
    return f"{name} ({known.better} is better)" if known else name


def render_markdown(facts: CardFacts) -> str:
    lines = [f"# Model card: {facts.model} version {facts.version}", ""]
    for title, body in _sections(facts):
        lines += [f"## {title}", ""]
        if isinstance(body, str):
            lines += [body, ""]
            continue
        lines += ["| | |", "|---|---|"] + [f"| {k} | {v.replace('|', '/')} |" for k, v in body] + [""]
    return "\n".join(lines)


def render_html(facts: CardFacts) -> str:
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(facts.model)} v{e(facts.version)}</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}"
             "table{border-collapse:collapse}td{border:1px solid #ccc;padding:.2rem .6rem}</style></head><body>",
             f"<h1>Model card: {e(facts.model)} version {e(facts.version)}</h1>"]
    for title, body in _sections(facts):
        parts.append(f"<h2>{e(title)}</h2>")
        if isinstance(body, str):
            parts.append(f"<p>{e(body)}</p>")
        else:
            parts.append("<table>" + "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in body)
                         + "</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_card(facts: CardFacts, *, settings: Settings | None = None) -> CardRecord:
    """Write the card once; a second call for the same version returns the first card untouched."""
    from mlflow.tracking import MlflowClient

    from shipyard.tracking.setup import configure_mlflow

    settings = settings or load_settings()
    existing = card_record(facts.model, facts.version, settings=settings)
    if existing is not None:
        return existing
    configure_mlflow(settings)
    markdown, page = render_markdown(facts), render_html(facts)
    client = MlflowClient()
    client.log_text(facts.mlflow_run_id, markdown, MARKDOWN_PATH)
    client.log_text(facts.mlflow_run_id, page, HTML_PATH)
    record = CardRecord(model=facts.model, version=facts.version, mlflow_run_id=facts.mlflow_run_id,
                        markdown_sha256=_sha(markdown), html_sha256=_sha(page))
    client.set_model_version_tag(facts.model, facts.version, "shipyard.card.markdown_sha256", record.markdown_sha256)
    client.set_model_version_tag(facts.model, facts.version, "shipyard.card.html_sha256", record.html_sha256)
    with session_scope(settings) as session:
        session.add(ModelCard(model=record.model, version=record.version, mlflow_run_id=record.mlflow_run_id,
                              markdown_sha256=record.markdown_sha256, html_sha256=record.html_sha256,
                              created_at=datetime.now(timezone.utc)))
    return record


def card_record(model: str, version: str | int, *, settings: Settings | None = None) -> CardRecord | None:
    with session_scope(settings) as session:
        row = session.get(ModelCard, (model, str(version)))
        if row is None:
            return None
        return CardRecord(model=row.model, version=row.version, mlflow_run_id=row.mlflow_run_id,
                          markdown_sha256=row.markdown_sha256, html_sha256=row.html_sha256)


def verify_card(model: str, version: str | int, *, settings: Settings | None = None) -> list[str]:
    """Problems with the card (empty when it exists and both files match both recorded digests)."""
    import mlflow

    from shipyard.registry.versions import get_version_tags
    from shipyard.tracking.setup import configure_mlflow

    settings = settings or load_settings()
    record = card_record(model, version, settings=settings)
    if record is None:
        return [f"{model} version {version} has no model card"]
    configure_mlflow(settings)
    tags = get_version_tags(model, str(version), settings=settings)
    problems = []
    for path, stored, tag in ((MARKDOWN_PATH, record.markdown_sha256, "shipyard.card.markdown_sha256"),
                              (HTML_PATH, record.html_sha256, "shipyard.card.html_sha256")):
        try:
            actual = _sha(mlflow.artifacts.load_text(f"runs:/{record.mlflow_run_id}/{path}"))
        except Exception as exc:
            problems.append(f"{path} cannot be read: {exc}")
            continue
        if actual != stored:
            problems.append(f"{path} was changed: sha256 {actual[:16]}… but {stored[:16]}… was recorded")
        if tags.get(tag) != stored:
            problems.append(f"the MLflow version tag {tag} disagrees with the metadata store")
    return problems


def card_uri(record: CardRecord, *, html_page: bool = False) -> str:
    """Where the card lives: an MLflow artifact URI of the version's run."""
    return f"runs:/{record.mlflow_run_id}/{HTML_PATH if html_page else MARKDOWN_PATH}"


def read_card(model: str, version: str | int, *, html_page: bool = False,
              settings: Settings | None = None) -> tuple[CardRecord, str]:
    """The card's record and its Markdown (or HTML page), refused unless it matches its recorded digest."""
    import mlflow

    from shipyard.errors import NotFoundError, TamperedError
    from shipyard.tracking.setup import configure_mlflow

    settings = settings or load_settings()
    record = card_record(model, version, settings=settings)
    if record is None:
        raise NotFoundError(f"{model} version {version} has no model card",
                            hint="versions registered by `shipyard run` get one; `shipyard models list` shows them")
    configure_mlflow(settings)
    text = mlflow.artifacts.load_text(card_uri(record, html_page=html_page))
    expected = record.html_sha256 if html_page else record.markdown_sha256
    if _sha(text) != expected:
        raise TamperedError(f"the model card {card_uri(record, html_page=html_page)} was changed: sha256 "
                            f"{_sha(text)[:16]}… but {expected[:16]}… was recorded", headline="model card changed",
                            hint=f"shipyard models verify {model} {version} checks both files")
    return record, text
