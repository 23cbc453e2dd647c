"""Model cards: written once, verified against digests in the store and on the MLflow version."""

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from shipyard.registry.cards import CardFacts, render_html, render_markdown, verify_card, write_card


def facts(result, **changes):
    base = dict(model="synth", version=result.model_version, pipeline="synth", description="Scores <b>risk</b>.",
                team="research", pipeline_run_id="run123", mlflow_run_id=result.mlflow_run_id, flavor="lightgbm",
                estimator="LGBMClassifier", task="classification", data_source="csv: data/synth.csv",
                data_digests={"train": "b" * 64}, rows={"train": 200, "holdout": 100},
                validation={"passed": True, "rows_in": 300, "rows_dropped": 0, "on_violation": "fail"},
                features=[{"name": "num", "columns": ["x1", "x2"], "transforms": [{"kind": "scale"}]}],
                params={"n_estimators": 20}, metrics={"roc_auc": 0.91},
                slice_metrics={"color": {"red": {"roc_auc": 0.7, "n": 30}}},
                environment={"python": "3.11", "packages": {"mlflow": "3.17"}})
    return CardFacts(**{**base, **changes})


@pytest.fixture(scope="module")
def card(tracked):
    from shipyard.store.db import get_engine

    get_engine(tracked["settings"])
    return write_card(facts(tracked["result"]), settings=tracked["settings"])


def _artifact(tracked, name):
    run = MlflowClient().get_run(tracked["result"].mlflow_run_id)
    return Path(run.info.artifact_uri.replace("file://", "")) / "model_card" / name


def test_card_is_written_and_verifies(tracked, card):
    assert verify_card("synth", tracked["result"].model_version) == []
    text = _artifact(tracked, "model_card.md").read_text()
    assert "# Model card: synth version" in text and "| roc_auc (higher is better) | 0.9100 |" in text
    assert "| color=red | roc_auc=0.7000, n=30 |" in text
    tags = MlflowClient().get_model_version("synth", tracked["result"].model_version).tags
    assert tags["shipyard.card.markdown_sha256"] == card.markdown_sha256


def test_cards_are_immutable(tracked, card):
    again = write_card(facts(tracked["result"], description="Something else"), settings=tracked["settings"])
    assert again == card
    assert "Something else" not in _artifact(tracked, "model_card.md").read_text()


def test_holdout_metrics_say_which_way_is_better(tracked):
    text = render_markdown(facts(tracked["result"], task="regression", metrics={"rmse": 53.2, "r2": 0.81}))
    assert "| rmse (lower is better) | 53.2000 |" in text and "| r2 (higher is better) | 0.8100 |" in text


def test_html_escapes_what_it_shows(tracked):
    page = render_html(facts(tracked["result"]))
    assert "Scores &lt;b&gt;risk&lt;/b&gt;." in page and "<b>risk</b>" not in page


def test_an_edited_card_or_tag_is_detected(tracked, card):
    path = _artifact(tracked, "model_card.html")
    original = path.read_text()
    try:
        path.write_text(original.replace("0.9100", "0.9900"))
        problems = verify_card("synth", tracked["result"].model_version)
        assert any("model_card.html was changed" in p for p in problems)
    finally:
        path.write_text(original)
    client = MlflowClient()
    version = tracked["result"].model_version
    client.set_model_version_tag("synth", version, "shipyard.card.markdown_sha256", "0" * 64)
    try:
        assert any("disagrees with the metadata store" in p for p in verify_card("synth", version))
    finally:
        client.set_model_version_tag("synth", version, "shipyard.card.markdown_sha256", card.markdown_sha256)
    assert verify_card("synth", version) == []


def test_missing_card(tracked):
    assert verify_card("synth", "999") == ["synth version 999 has no model card"]


def test_read_card_returns_either_file_only_while_it_matches_its_digest(tracked, card):
    from shipyard.errors import NotFoundError, TamperedError
    from shipyard.registry.cards import card_uri, read_card

    version = tracked["result"].model_version
    record, markdown = read_card("synth", version)
    assert record == card and markdown.startswith("# Model card: synth")
    assert read_card("synth", version, html_page=True)[1].startswith("<!doctype html>")
    assert card_uri(card, html_page=True) == f"runs:/{card.mlflow_run_id}/model_card/model_card.html"
    path = _artifact(tracked, "model_card.md")
    original = path.read_text()
    try:
        path.write_text(original + "\nedited")
        with pytest.raises(TamperedError, match="model_card.md was changed"):
            read_card("synth", version)
    finally:
        path.write_text(original)
    with pytest.raises(NotFoundError, match="synth version 999 has no model card"):
        read_card("synth", "999")


def test_the_card_lists_feature_importance_or_why_it_was_not_computed(tracked):
    importance = {"method": "shap.TreeExplainer", "rows": 100, "seconds": 0.4,
                  "columns": {"x1": 0.4123, "color": 0.13, "x2": 0.0115}}
    text = render_markdown(facts(tracked["result"], feature_importance=importance))
    section = text.split("## Feature importance (mean |SHAP|)")[1].split("## ")[0]
    assert "| explainer | shap.TreeExplainer on 100 holdout rows |" in section
    assert section.index("| x1 | 0.4123 |") < section.index("| color | 0.13 |") < section.index("| x2 | 0.0115 |")
    skipped = render_markdown(facts(tracked["result"], feature_importance={"skipped": "the holdout is empty"}))
    assert "## Feature importance (mean |SHAP|)\n\nNot computed: the holdout is empty." in skipped
    assert "Not computed for this version." in render_markdown(facts(tracked["result"]))


def test_the_card_links_the_shap_values_and_ranks_the_top_features_of_each_slice(tracked):
    digest = "c" * 64
    importance = {"method": "shap.TreeExplainer", "rows": 100, "seconds": 0.4,
                  "columns": {"x1": 0.4, "color": 0.13, "x2": 0.01, "x3": 0.001},
                  "values": {"sha256": digest, "format": "parquet", "rows": 100,
                             "location": f"/artifacts/sha256/cc/{digest}", "columns": ["shap[x1]"]},
                  "slices": {"color": {"red": {"rows": 30, "columns": {"x2": 0.2, "x1": 0.3, "x3": 0.01,
                                                                       "color": 0.0}},
                                       "blue": {"rows": 70, "columns": {"x1": 0.5}}}}}
    text = render_markdown(facts(tracked["result"], feature_importance=importance))
    section = text.split("## Feature importance (mean |SHAP|)")[1].split("## ")[0]
    assert f"| SHAP values | /artifacts/sha256/cc/{digest} (Parquet, 100 rows, sha256 {digest}) |" in section
    per_slice = text.split("## Top features per slice (mean |SHAP|)")[1].split("## ")[0]
    assert "| color=blue (70 rows) | x1 0.5 |" in per_slice
    assert "| color=red (30 rows) | x1 0.3, x2 0.2, x3 0.01 |" in per_slice  # the top three only
    assert "Top features per slice" in render_html(facts(tracked["result"], feature_importance=importance))
    assert "Top features per slice" not in render_markdown(facts(tracked["result"]))
