"""The dashboard in a real headless Chromium against a real API server holding the churn example's runs, versions,
deployment and drift report: sign in, a run's DAG, comparing versions, a canary moved by the CLI and rolled back
from the page, a viewer's disabled button, a drift report's charts, and user errors as readable pages."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from chromium import ConsoleGuard, chromium, chromium_missing
from live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".test-artifacts" / "dashboard"
STATIC = ROOT / "src" / "shipyard" / "server" / "static"
MISSING = chromium_missing() or (None if (STATIC / "index.html").exists() else "the dashboard is not built: make web")
pytestmark = pytest.mark.skipif(MISSING is not None and not os.environ.get("SHIPYARD_REQUIRE_BROWSER"),
                                reason=MISSING or "")


def _churn_spec(folder: Path):
    """The churn example, quicker: two sweep trials of two folds, no latency or champion gate, no automatic rollout."""
    from shipyard.spec.loader import load_spec

    loaded = load_spec(folder / "pipeline.yaml")
    spec = loaded.spec
    gates = spec.promotion.gates.model_copy(update={"champion": None, "performance": None})
    spec = spec.model_copy(update={
        "deployment": None, "sweep": spec.sweep.model_copy(update={"n_trials": 2, "cv_folds": 2}),
        "promotion": spec.promotion.model_copy(update={"gates": gates})})
    return dataclasses.replace(loaded, spec=spec)


def _broken_spec(folder: Path):
    """The churn example with a model whose fit fails (a negative C): a failed run whose train step left a log."""
    import yaml

    from shipyard.spec.loader import load_spec

    document = yaml.safe_load((folder / "pipeline.yaml").read_text())
    document["name"] = "churn-broken"
    for section in ("sweep", "promotion", "deployment", "monitoring"):
        document.pop(section, None)
    document["model"] = {"flavor": "sklearn", "estimator": "LogisticRegression", "params": {"C": -1.0}}
    (folder / "broken.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return load_spec(folder / "broken.yaml")


def _send_traffic(model: str, frame) -> None:
    import httpx

    from shipyard.serving.server import background_gateway, build_gateway

    gateway = build_gateway([model], poll_interval_s=0.2, tick_s=0.2)
    columns = gateway.routes[model].stable.columns
    with background_gateway(gateway) as url, httpx.Client(base_url=url, timeout=30) as client:
        for start in range(0, len(frame), 50):
            chunk = frame.iloc[start:start + 50][columns]
            records = chunk.astype(object).where(chunk.notna(), None).to_dict(orient="records")
            client.post(f"/models/{model}/invocations", json={"dataframe_records": records}).raise_for_status()


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """Churn v1 (stable) and v2 (a 10% canary), a drift report of v1's drifted traffic, and the API on loopback
    requiring tokens: ada is admin of team growth, vera its viewer."""
    from shipyard.config import load_settings
    from shipyard.governance import directory
    from shipyard.governance.identity import acting_as
    from shipyard.governance.tokens import authenticate_bearer, create_token
    from shipyard.monitoring.runs import compute_drift
    from shipyard.pipeline.api import run
    from shipyard.pipeline.runner import RunOptions
    from shipyard.server.app import create_app
    from shipyard.serving.traffic import deploy
    from shipyard.store.db import reset_engines

    base = tmp_path_factory.mktemp("dashboard-e2e")
    example = base / "churn"
    shutil.copytree(ROOT / "examples" / "churn", example, ignore=shutil.ignore_patterns("data", "__pycache__"))
    (example / "data").mkdir()
    patch = pytest.MonkeyPatch()
    patch.setenv("SHIPYARD_HOME", str(base / "home"))
    for name in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "SHIPYARD_URL",
                 "SHIPYARD_TOKEN"):
        patch.delenv(name, raising=False)
    patch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    patch.syspath_prepend(str(example))
    reset_engines()
    from generate import generate_churn

    settings = load_settings()
    runs = []
    for seed in (1, 2):
        generate_churn(n_rows=2000, seed=seed).to_csv(example / "data" / "churn.csv", index=False)
        result = run(_churn_spec(example), options=RunOptions(max_workers=1), settings=settings)
        assert result.status == "succeeded", result.error
        runs.append(result)
    broken = run(_broken_spec(example), options=RunOptions(max_workers=1), settings=settings)
    assert broken.status == "failed", broken.error
    deploy("churn", "1", actor="tester", reason="first", settings=settings)
    _send_traffic("churn", generate_churn(n_rows=400, seed=3, shift=1.0))
    report = compute_drift("churn", version="1", window_s=3600, settings=settings)
    deploy("churn", "2", strategy="canary", weight=0.1, actor="tester", reason="try v2", settings=settings)

    directory.bootstrap_admin("root")
    tokens = {"root": create_token("laptop", identity="root").secret}
    with acting_as(authenticate_bearer(tokens["root"])):
        directory.create_team("growth")
        directory.add_member("growth", "ada", "admin")
        directory.add_member("growth", "vera", "viewer")
        for name in ("ada", "vera"):
            tokens[name] = create_token("laptop", identity=name).secret
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with LiveServer(create_app(settings, require_auth=True)) as server, chromium() as browser:
        yield {"url": server.url, "tokens": tokens, "runs": runs, "report": report, "browser": browser,
               "broken": broken, "settings": settings}
    patch.undo()
    reset_engines()


def open_page(platform, who: str | None, *, expected_errors: tuple[str, ...] = ()):
    """A new tab signed in as ``who`` (its token in the tab's session storage), and its console guard."""
    page = platform["browser"].new_page()
    if who is not None:
        sign_in(page, platform["tokens"][who])
    return page, ConsoleGuard(page, expected=expected_errors)


def sign_in(page, token: str) -> None:
    """The token in the tab's session storage before the dashboard loads (the top frame only: the model card's
    sandboxed frame may not touch storage)."""
    page.add_init_script(f"if (window === window.top) window.sessionStorage.setItem('shipyard.token', {token!r});")


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_sign_in_then_the_runs_dag(platform):
    from playwright.sync_api import expect

    page, console = open_page(platform, None)
    run_id = platform["runs"][0].run_id
    page.goto(f"{platform['url']}/sign-in?next=%2Fruns%2F{run_id}")  # where a deep link without a token leads
    page.fill("#token", platform["tokens"]["ada"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"Run {run_id[:12]} of churn")).to_be_visible()
    nodes = page.locator(".react-flow__node")
    expect(nodes).to_have_count(9)
    expect(page.locator(".react-flow__node", has_text="sweep")).to_contain_text("succeeded")
    expect(page.locator(".react-flow__edge")).not_to_have_count(0)
    shot(page, "run-dag")
    console.assert_clean()
    page.close()


def test_a_failed_steps_log_on_the_run_page(platform):
    from playwright.sync_api import expect

    from shipyard.store.runs import get_run

    run_id = platform["broken"].run_id
    failed = next(step.name for step in get_run(run_id, settings=platform["settings"]).steps if step.state == "failed")
    page, console = open_page(platform, "ada")
    page.goto(f"{platform['url']}/runs/{run_id}")
    step = page.get_by_role("region", name=f"step {failed}")
    log = step.get_by_label("step log")
    expect(log).to_contain_text(f"--- step {failed} started")
    expect(log).to_contain_text("Traceback")
    expect(log).to_contain_text("'C'")
    shot(page, "failed-step-log")
    console.assert_clean()
    page.close()


def test_the_fleets_live_service_levels_follow_the_gateways(platform):
    import numpy as np
    from playwright.sync_api import expect

    from shipyard.serving.fleet_store import forget_gateway, publish
    from shipyard.serving.fleet_window import FleetWindow, latency_counts

    settings = platform["settings"]

    def report(requests: int, errors: int, latency_s: float) -> None:
        window = FleetWindow(requests=requests, errors=errors,
                             latencies=latency_counts(np.full(requests - errors, latency_s)))
        publish("churn", "e2e-gateway", "1", 60.0, window, settings=settings)

    report(150, 3, 0.010)
    page, console = open_page(platform, "ada")
    try:
        page.goto(f"{platform['url']}/deployments/churn")
        stable = page.get_by_role("region", name="live service levels").locator("tr[data-arm=stable]")
        expect(stable.locator(".fleet-requests")).to_have_text("150")
        expect(stable.locator(".fleet-error-rate")).to_have_text("2%")
        report(400, 40, 0.250)
        expect(stable.locator(".fleet-requests")).to_have_text("400", timeout=10_000)
        expect(stable.locator(".fleet-error-rate")).to_have_text("10%")
        expect(stable.locator(".fleet-p99")).to_contain_text("ms")
        shot(page, "live-service-levels")
        console.assert_clean()
    finally:
        forget_gateway("e2e-gateway", settings=settings)
        page.close()


def test_single_sign_on_by_redirect_through_the_issuer(platform):
    from oidc_provider import OidcProvider
    from playwright.sync_api import expect

    from shipyard.server.app import create_app

    with OidcProvider(user="olga", groups=["growth:viewer"], audience="shipyard",
                      client_id="shipyard-dashboard") as issuer:
        settings = dataclasses.replace(platform["settings"], oidc_issuer=issuer.url, oidc_audience="shipyard",
                                       oidc_jwks_url=f"{issuer.url}/jwks", oidc_client_id="shipyard-dashboard")
        with LiveServer(create_app(settings, require_auth=True)) as server:
            page, console = open_page(platform, None)
            page.goto(f"{server.url}/sign-in?next=%2Faudit")  # where a deep link without a token leads
            page.get_by_role("button", name=f"Sign in with {issuer.url}").click()
            expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
            expect(page).to_have_url(f"{server.url}/audit")
            expect(page.locator(".who")).to_contain_text("olga")
            assert issuer.redeemed == ["olga"]
            shot(page, "signed-in-by-oidc")
            console.assert_clean()
            page.close()


def test_compare_two_versions_side_by_side(platform):
    from playwright.sync_api import expect

    page, console = open_page(platform, "ada")
    page.goto(f"{platform['url']}/models/churn")
    page.get_by_label("compare version 1").check()
    page.get_by_label("compare version 2").check()
    page.get_by_role("button", name="Compare v1 and v2").click()
    expect(page).to_have_url(f"{platform['url']}/models/churn/compare?left=1&right=2")
    expect(page.get_by_role("heading", name="churn: version 1 vs 2")).to_be_visible()
    metrics = page.get_by_role("region", name="Metrics", exact=True)
    expect(metrics.get_by_role("row", name="roc_auc")).to_be_visible()
    slices = page.get_by_role("region", name="Metrics per slice")
    expect(slices.locator("tbody tr", has_text="plan")).not_to_have_count(0)
    expect(page.get_by_role("region", name="Data digests").locator("tbody tr")).not_to_have_count(0)
    shot(page, "compare")
    console.assert_clean()
    page.close()


def test_a_versions_gates_card_and_lineage(platform):
    from playwright.sync_api import expect

    page, console = open_page(platform, "ada")
    page.goto(f"{platform['url']}/models/churn/versions/2")
    gates = page.get_by_role("region", name="gates")
    expect(gates.get_by_role("row", name="roc_auc >= 0.75")).to_contain_text("passed")
    lineage = page.get_by_role("region", name="lineage")
    expect(lineage.locator(".react-flow__node")).to_have_count(7)  # data … version, and its canary arm
    expect(lineage.locator(".react-flow__node", has_text="canary arm")).to_contain_text("10% of traffic")
    card = page.frame_locator("iframe[title='model card']")
    expect(card.locator("h1")).to_contain_text("churn version 2")
    shot(page, "version")
    console.assert_clean()
    page.close()


def test_the_canary_follows_the_cli_and_is_rolled_back_from_the_page(platform):
    from playwright.sync_api import expect

    page, console = open_page(platform, "ada")
    page.goto(f"{platform['url']}/deployments/churn")
    canary = page.locator("tr[data-role=canary] .share-value")
    expect(canary).to_have_text("10%")
    env = {**os.environ, "SHIPYARD_URL": platform["url"], "SHIPYARD_TOKEN": platform["tokens"]["ada"]}
    cli = subprocess.run([sys.executable, "-m", "shipyard", "traffic", "set", "churn", "--canary", "2:30",
                          "--reason", "more traffic"], env=env, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    expect(canary).to_have_text("30%", timeout=10_000)
    expect(page.locator("tr[data-role=stable] .share-value")).to_have_text("70%")
    expect(page.get_by_label("canary share")).to_have_value("30")
    page.get_by_role("button", name="Roll back", exact=True).click()
    dialog = page.get_by_role("dialog", name="Confirm: Roll back")
    expect(dialog).to_contain_text("removes the canary arm (v2) and sends all traffic to v1")
    confirm = dialog.get_by_role("button", name="Confirm: Roll back")
    expect(confirm).to_be_disabled()  # a rollback needs its reason
    dialog.get_by_label("Reason (recorded in the audit log)").fill("v2 answers slowly")
    shot(page, "deployment-confirm")
    confirm.click()
    expect(page.locator("tr[data-role=canary]")).to_have_count(0)
    expect(page.locator("tr[data-role=stable] .share-value")).to_have_text("100%")
    shot(page, "deployment")
    console.assert_clean()
    page.close()


def test_a_viewer_sees_the_actions_disabled_with_the_reason(platform):
    from playwright.sync_api import expect

    page, console = open_page(platform, "vera")
    page.goto(f"{platform['url']}/deployments/churn")
    button = page.get_by_role("button", name="Roll back", exact=True)
    expect(button).to_be_disabled()
    expect(page.get_by_role("region", name="actions")).to_contain_text(
        "vera may not rollback for team growth: it is viewer in team growth, and rollback needs developer or above")
    expect(page.get_by_role("button", name="Deploy", exact=True)).to_be_disabled()
    console.assert_clean()
    page.close()


def test_a_drift_report_with_its_charts(platform):
    from playwright.sync_api import expect

    report = platform["report"]
    page, console = open_page(platform, "ada")
    page.goto(f"{platform['url']}/models/churn/drift")
    expect(page.get_by_role("region", name="severity over time").locator(".recharts-line")).to_have_count(1)
    page.get_by_role("table", name="drift reports").get_by_role("link").first.click()
    expect(page).to_have_url(f"{platform['url']}/drift/{report.id}")
    rows = page.get_by_role("table", name="features").locator("tbody tr")
    expect(rows).to_have_count(len(report.report["features"]))
    first = next(iter(report.report["features"]))
    assert report.report["features"][first]["severity"] != "ok"
    expect(rows.first).to_contain_text(report.report["features"][first]["severity"])
    chart = page.get_by_role("region", name=f"distribution of {rows.first.locator('button').inner_text()}")
    expect(chart.locator(".recharts-bar-rectangle")).not_to_have_count(0)
    rows.nth(1).locator("button").click()
    second = rows.nth(1).locator("button").inner_text()
    expect(page.get_by_role("region", name=f"distribution of {second}")).to_be_visible()
    shot(page, "drift-report")
    console.assert_clean()
    page.close()


def test_user_errors_are_readable_pages_never_blank(platform):
    from playwright.sync_api import expect

    loading = ("Failed to load resource",)
    page, console = open_page(platform, "ada", expected_errors=loading)
    page.goto(f"{platform['url']}/models/nochurn")
    expect(page.get_by_role("alert")).to_contain_text("there is no model 'nochurn' in the registry")
    page.goto(f"{platform['url']}/deployments/nochurn")
    expect(page.get_by_role("alert")).to_contain_text("Not found")
    page.goto(f"{platform['url']}/models/churn/compare?left=1")
    expect(page.get_by_role("alert")).to_contain_text("Choose two versions to compare")
    page.route("**/api/v1/drift/**", lambda route: route.abort("connectionrefused"))
    page.goto(f"{platform['url']}/drift/{platform['report'].id}")
    expect(page.get_by_role("alert")).to_contain_text("The shipyard server is not answering", timeout=15_000)
    console.assert_clean()
    page.close()

    expired, console = open_page(platform, None, expected_errors=loading)
    sign_in(expired, "shy_not-a-real-token")
    expired.goto(f"{platform['url']}/deployments/churn")
    expect(expired.get_by_role("alert").or_(expired.locator(".notice"))).to_contain_text("session ended")
    console.assert_clean()
    expired.close()
