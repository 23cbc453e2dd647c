"""The extender verbs with the JSON the kube-scheduler posts, through FastAPI and a real uvicorn."""

import socket
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from shipyard.errors import UsageError
from shipyard.scheduling.extender import Extender
from shipyard.scheduling.extender_app import create_app
from tests.scheduling.kube_objects import extender_args, node, pod

NODES = [node("a100-busy", gpus=2, gpu_free=[0, 600]),
         node("a100-idle", gpus=2, gpu_free=[1000, 1000]),
         node("t4", gpus=2, product="Tesla-T4", gpu_free=[1000, 1000]),
         node("spot", gpus=2, gpu_free=[1000, 1000], spot=True),
         node("full", gpus=2, gpu_free=[0, 100])]


@pytest.fixture
def client():
    return TestClient(create_app(Extender("fgd")))


def test_filter_keeps_the_nodes_that_fit_and_says_why_the_others_do_not(client):
    args = extender_args(pod("share", gpu_milli=500, gpu_types="NVIDIA-A100-SXM4-80GB"), NODES)
    answer = client.post("/filter", json=args)
    assert answer.status_code == 200
    result = answer.json()
    assert [n["metadata"]["name"] for n in result["Nodes"]["items"]] == ["a100-busy", "a100-idle"]
    assert result["Nodes"]["items"][0] == NODES[0]
    assert result["FailedNodes"] == {"full": "no GPU with 500 milli-GPU free"}
    assert set(result["FailedAndUnresolvableNodes"]) == {"t4", "spot"}
    assert "GPU type Tesla-T4" in result["FailedAndUnresolvableNodes"]["t4"]
    assert result["Error"] == "" and result["NodeNames"] is None


def test_prioritize_scores_nodes_that_fit_1_to_10_with_the_least_fragmenting_highest_and_others_0(client):
    # The workload seen so far is 500-milli shares: 400 on a100-busy's only room (600) leaves a 200 sliver;
    # on the idle node's whole GPU it leaves 500, still usable.
    client.post("/filter", json=extender_args(pod("earlier", gpu_milli=500), NODES))
    answer = client.post("/prioritize", json=extender_args(pod("share", gpu_milli=400), NODES))
    assert answer.status_code == 200
    scores = {entry["Host"]: entry["Score"] for entry in answer.json()}
    assert set(scores) == {n["metadata"]["name"] for n in NODES}
    assert scores["a100-idle"] == 10 and 1 <= scores["a100-busy"] < 10
    assert scores["spot"] == 0 and scores["full"] == 0


def test_preempt_keeps_only_nodes_whose_victims_may_be_preempted(client):
    victims = {"a100-busy": {"Pods": [pod("low", gpus=1, priority_class="batch-low")], "NumPDBViolations": 0},
               "a100-idle": {"Pods": [pod("low2", gpus=1, priority_class="batch-low"),
                                      pod("web", gpus=1, priority_class="serving")], "NumPDBViolations": 0},
               "t4": {"Pods": [pod("plain", gpus=1, priority_class="batch")], "NumPDBViolations": 1},
               "spot": {"Pods": [pod("cheap", gpus=1, spot=True)], "NumPDBViolations": 1}}
    answer = client.post("/preempt", json={"Pod": pod("urgent", gpus=2, priority_class="batch-high"),
                                          "NodeNameToVictims": victims})
    assert answer.status_code == 200
    assert answer.json() == {"NodeNameToMetaVictims": {
        "a100-busy": {"Pods": [{"UID": "uid-low"}], "NumPDBViolations": 0},
        "spot": {"Pods": [{"UID": "uid-cheap"}], "NumPDBViolations": 1}}}


def test_preempt_with_only_pod_uids_keeps_no_node(client):
    meta = {"a100-busy": {"Pods": [{"UID": "uid-low"}], "NumPDBViolations": 0}}
    answer = client.post("/preempt", json={"Pod": pod("urgent", gpus=1, priority_class="batch-high"),
                                          "NodeNameToMetaVictims": meta})
    assert answer.json() == {"NodeNameToMetaVictims": {}}


def test_keys_match_case_insensitively_as_go_decodes_them(client):
    args = {"pod": pod("share", gpu_milli=500), "nodes": {"items": NODES[:2]}}
    assert len(client.post("/filter", json=args).json()["Nodes"]["items"]) == 2


@pytest.mark.parametrize("body, says", [
    (b"{not json", "not JSON"),
    (b'{"Nodes": {"items": []}}', "no Pod"),
    (b'{"Pod": {"metadata": {"name": "p"}}, "NodeNames": ["a"]}', "nodeCacheCapable: false"),
    (b'{"Pod": {"metadata": {"name": "p"}, "spec": {"containers": [{"resources": {"requests": {"cpu": "x"}}}]}},'
     b' "Nodes": {"items": []}}', "not a Kubernetes quantity"),
    (b'[1, 2]', "expected a JSON object"),
])
def test_a_request_the_extender_cannot_read_is_a_400_problem(client, body, says):
    answer = client.post("/filter", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 400 and says in problem["detail"] + (problem["hint"] or "")


def test_an_unknown_policy_is_refused():
    with pytest.raises(UsageError, match="no scheduling policy"):
        Extender("tetris")


def test_the_verbs_over_a_real_uvicorn_on_loopback():
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Extender("fgd-pack")), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        base = f"http://127.0.0.1:{port}"
        args = extender_args(pod("train", gpus=2, priority_class="batch"), NODES)
        filtered = httpx.post(f"{base}/filter", json=args, timeout=10).json()
        assert [n["metadata"]["name"] for n in filtered["Nodes"]["items"]] == ["a100-idle", "t4"]
        scores = httpx.post(f"{base}/prioritize", json=args, timeout=10).json()
        assert {entry["Host"] for entry in scores if entry["Score"] > 0} <= {"a100-idle", "t4"}
        assert httpx.get(f"{base}/healthz", timeout=10).json() == {"status": "ok", "policy": "fgd-pack"}
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_the_learned_workload_counts_each_pod_once_and_keeps_the_latest():
    extender = Extender("fgd", history=2)
    for name in ("a", "a", "b", "c"):
        extender.filter(extender_args(pod(name, gpu_milli=500), NODES[:1]))
    assert list(extender.seen) == ["ml/b", "ml/c"]


def _due_in(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


def test_a_pod_whose_deadline_no_longer_allows_a_reclaim_is_kept_off_spot_nodes(client):
    # Two hours of work, ten-minute checkpoints: one more reclaim costs 10 + 3 minutes, with 4 of margin.
    work = {"shipyard.io/expected-duration-s": "7200", "shipyard.io/checkpoint-interval-s": "600"}
    ample = pod("ample", gpus=1, spot=True, annotations={**work, "shipyard.io/due": _due_in(4 * 3600)})
    tight = pod("tight", gpus=1, spot=True, annotations={**work, "shipyard.io/due": _due_in(7200 + 600)})
    nodes = [node("spot", gpus=2, gpu_free=[1000, 1000], spot=True), node("od", gpus=2, gpu_free=[1000, 1000])]

    kept = client.post("/filter", json=extender_args(ample, nodes)).json()
    assert [n["metadata"]["name"] for n in kept["Nodes"]["items"]] == ["spot", "od"]

    held = client.post("/filter", json=extender_args(tight, nodes)).json()
    assert [n["metadata"]["name"] for n in held["Nodes"]["items"]] == ["od"]
    reason = held["FailedAndUnresolvableNodes"]["spot"]
    assert reason.startswith("spot node: the task is due in 130 min with 120 min of work") and "on-demand" in reason
    assert held["FailedNodes"] == {}
    scores = {p["Host"]: p["Score"] for p in client.post("/prioritize", json=extender_args(tight, nodes)).json()}
    assert scores["spot"] == 0 and scores["od"] > 0


ANNOTATION_KEYS = ("shipyard.io/due", "shipyard.io/checkpoint-interval-s", "shipyard.io/expected-duration-s",
                   "shipyard.io/gpu-milli", "shipyard.io/gpu-memory", "shipyard.io/gpu-types")


def test_any_annotation_values_get_an_answer_or_a_400_never_a_500():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    extender_client = TestClient(create_app(Extender("fgd")), raise_server_exceptions=False)
    values = st.one_of(st.text(max_size=30), st.integers(-10**20, 10**20).map(str),
                       st.floats(allow_nan=True, allow_infinity=True).map(repr),
                       st.datetimes().map(lambda d: d.isoformat() + "Z"), st.sampled_from(["", "0", "-1", "1e400"]))

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.sampled_from(ANNOTATION_KEYS), values, max_size=4), st.booleans())
    def answers(annotations, spot):
        args = extender_args(pod("fuzzed", gpus=1, spot=spot, annotations=annotations), NODES)
        for verb in ("/filter", "/prioritize"):
            answer = extender_client.post(verb, json=args)
            assert answer.status_code in (200, 400), (verb, annotations, answer.text)
            if answer.status_code == 400:
                assert answer.json()["detail"].startswith("pod ml/fuzzed") or "quantity" in answer.json()["detail"]

    answers()
