
import numpy as np
import pytest
from benchmark_module import load_benchmark
from openb_trace import write_openb_trace


cluster_bill = load_benchmark("cluster_bill")


def write_trace(folder, seed=0):
    """A timed default task list on 40 nodes: mostly serving (LS), some BE and Burstable training."""
    rng = np.random.default_rng(seed)
    pods = []
    for i in range(300):
        length = int(rng.integers(600, 8 * 3600))
        pods.append((f"pod-{i}", int(rng.choice([1, 2])), ("LS", "LS", "BE", "Burstable")[i % 4], i * 300, length))
    write_openb_trace(folder, pods)


@pytest.mark.parametrize("consolidation", [False, True])
def test_the_benchmark_prints_packing_and_spot_side_by_side_with_the_kube_default(tmp_path, consolidation):
    write_trace(tmp_path)
    results = cluster_bill.replay(tmp_path, cluster_bill.HERE / "spot_prices.toml", "best-fit", quick=True, seeds=2,
                                  consolidation=consolidation)
    assert list(results) == list(cluster_bill.runs("best-fit", consolidation)) and cluster_bill.BASELINE in results
    assert all(len(bills) == 2 for bills in results.values())
    spot_runs = [name for name in results if "spot" in name]
    assert all(bill.preemptions > 0 or bill.spot_cost > 0 for name in spot_runs for bill in results[name])
    assert all(bill.spot_cost == 0 for name in results if "spot" not in name for bill in results[name])
    compacted = [bill.compacted_tasks for name in results if "compaction" in name for bill in results[name]]
    assert all(count == 0 for name in results if "compaction" not in name for count in
               (bill.compacted_tasks for bill in results[name]))
    if consolidation:
        assert len(compacted) == 5 * 2, "with and without the slack rule, the spot runs compact too"
        assert sum(bill.drained_nodes for bills in results.values() for bill in bills) > 0
    else:
        assert not compacted
        assert all(bill.drained_nodes == bill.moved_tasks == 0 for bills in results.values() for bill in bills)
    table = cluster_bill.table(results, consolidation)
    rows = table.splitlines()[2:]
    assert len(rows) == len(results) and rows[0].startswith(f"| {cluster_bill.BASELINE} | ")
    assert rows[0].split(" | ")[3] == "+0.0%"
    assert any(row.startswith("| scenario: ") for row in rows), "the non-LS spot run is labelled a scenario"
    assert all(row.count(" | ") == (13 if consolidation else 9) for row in rows)
    for row, bills in zip(rows, results.values(), strict=True):
        assert row.split(" | ")[1] == f"{np.mean([bill.cost for bill in bills]):,.0f}"


@pytest.mark.parametrize("consolidation", [False, True])
def test_the_training_pool_replays_only_the_non_serving_tasks(tmp_path, monkeypatch, consolidation):
    write_trace(tmp_path)
    shapes = []
    of = cluster_bill.Workload.of
    monkeypatch.setattr(cluster_bill.Workload, "of", lambda tasks: shapes.append([t.name for t in tasks]) or of(tasks))
    results = cluster_bill.replay(tmp_path, cluster_bill.HERE / "spot_prices.toml", "best-fit", quick=True, seeds=2,
                                  consolidation=consolidation, pool="training")
    training = [f"pod-{i}" for i in range(300) if i % 4 in (2, 3)]
    assert shapes == [training], "the packing policy's task shapes are those of the training tasks alone"
    assert list(results) == list(cluster_bill.runs("best-fit", consolidation))
    for bills in results.values():
        assert all(len(bill.waiting_s) + bill.unfinished == len(training) for bill in bills)
        assert all(bill.serving_restarts == 0 for bill in bills)
    assert all(bill.preemptions > 0 or bill.spot_cost > 0 for name in results if "spot" in name
               for bill in results[name]), "the BE and Burstable tasks go to spot"
    if consolidation:
        assert sum(bill.moved_tasks for bills in results.values() for bill in bills) > 0

    argv = ["cluster_bill.py", "--data", str(tmp_path), "--packing", "best-fit", "--quick", "--seeds", "2",
            "--pool", "training", "--out", str(tmp_path / "bill.md")]
    monkeypatch.setattr("sys.argv", argv + ([] if consolidation else ["--without-consolidation"]))
    cluster_bill.main()
    assert (tmp_path / "bill.md").read_text() == cluster_bill.table(results, consolidation) + "\n"


def test_each_spot_run_is_shown_beside_the_same_run_with_the_slack_rule():
    for consolidation in (False, True):
        names = list(cluster_bill.runs("best-fit", consolidation))
        spot = [name for name in names if "spot" in name and not name.endswith(cluster_bill.FALLBACK)]
        assert len(spot) == 2
        for name in spot:
            assert names[names.index(name) + 1] == name + cluster_bill.FALLBACK
            plain, aware = cluster_bill.runs("best-fit", consolidation)[name], \
                cluster_bill.runs("best-fit", consolidation)[name + cluster_bill.FALLBACK]
            assert aware == plain._replace(fallback=True) and not plain.fallback


def write_long_training(folder, seed=0):
    """Training alone: 120 BE and Burstable jobs of 1 to 12 hours, 1 or 2 GPUs each, on 40 nodes."""
    rng = np.random.default_rng(seed)
    pods = []
    for i in range(120):
        length = int(rng.integers(3600, 12 * 3600))
        pods.append((f"job-{i}", int(rng.choice([1, 2])), ("BE", "Burstable")[i % 2], i * 900, length))
    write_openb_trace(folder, pods)


@pytest.mark.parametrize("consolidation", [False, True])
def test_the_slack_rule_misses_no_more_deadlines_than_the_same_spot_run_without_it(tmp_path, consolidation):
    write_long_training(tmp_path)
    results = cluster_bill.replay(tmp_path, cluster_bill.HERE / "spot_prices.toml", "best-fit", quick=True, seeds=3,
                                  consolidation=consolidation, pool="training")
    scenario = next(name for name in results
                    if name.startswith("scenario") and not name.endswith(cluster_bill.FALLBACK))
    plain, aware = results[scenario], results[scenario + cluster_bill.FALLBACK]
    assert sum(bill.deadline_misses for bill in plain) > 0, "reclaimed over and over, some jobs are late"
    assert sum(bill.deadline_misses for bill in aware) == 0
    assert all(bill.fallbacks > 0 and 0 < bill.spot_cost < bill.cost for bill in aware)
    assert sum(bill.preemptions for bill in aware) < sum(bill.preemptions for bill in plain)
    for name in results:
        if name.endswith(cluster_bill.FALLBACK):
            base = name.removesuffix(cluster_bill.FALLBACK)
            assert (sum(bill.deadline_misses for bill in results[name])
                    <= sum(bill.deadline_misses for bill in results[base])), name
        else:
            assert all(bill.fallbacks == 0 for bill in results[name]), name


def test_shorter_checkpoints_bound_the_work_each_reclaim_or_move_redoes(tmp_path, monkeypatch):
    write_long_training(tmp_path)
    for minutes in (30, 2):
        results = cluster_bill.replay(tmp_path, cluster_bill.HERE / "spot_prices.toml", "best-fit", quick=True,
                                      seeds=2, pool="training", checkpoint_interval_s=minutes * 60)
        bills = results[next(name for name in results if name.startswith("scenario")
                             and not name.endswith(cluster_bill.FALLBACK))]
        for bill in bills:
            assert bill.preemptions > 0
            # Each reclaim or move of a checkpointing task redoes at most one interval on each of its GPUs.
            assert bill.lost_gpu_hours <= (bill.preemptions + bill.moved_tasks) * minutes / 60 * 8 + 1e-9

    monkeypatch.setattr("sys.argv", ["cluster_bill.py", "--data", str(tmp_path), "--checkpoint-minutes", "0"])
    with pytest.raises(SystemExit, match="--checkpoint-minutes is 0.0: give a number of minutes above 0"):
        cluster_bill.main()
