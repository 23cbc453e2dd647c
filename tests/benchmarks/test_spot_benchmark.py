
import numpy as np

from shipyard.scheduling.spot import SpotSettings
from benchmark_module import load_benchmark
from openb_trace import write_openb_trace


spot = load_benchmark("spot")


def write_trace(folder, seed=0):
    """The default task list, timed: half serving (LS), half batch training (BE), for 40 nodes."""
    rng = np.random.default_rng(seed)
    pods = []
    for i in range(400):
        length = int(rng.integers(600, 4 * 3600))
        pods.append((f"pod-{i}", int(rng.choice([1, 2])), "LS" if i % 2 else "BE", i * 300, length))
    write_openb_trace(folder, pods)


def test_the_benchmark_prints_spot_settings_side_by_side_with_all_on_demand(tmp_path):
    write_trace(tmp_path)
    settings = {"spot 50%, 1/h, ckpt 10 min": SpotSettings(share=0.5, preemption_rate=1.0, checkpoint_interval_s=600)}
    results = spot.run(tmp_path, spot.HERE / "spot_prices.toml", "best-fit", quick=True, settings=settings)
    assert list(results) == ["all on-demand", *settings]
    base, with_spot = results.values()
    assert with_spot.tolerant_cost < base.tolerant_cost and with_spot.preemptions > 0
    table = spot.table(results)
    assert table.count("\n") == 1 + len(results)
    assert "| all on-demand | " in table and "| spot 50%, 1/h, ckpt 10 min | " in table


def test_the_recovery_table_follows_every_reclaim_per_policy_and_setting(tmp_path):
    write_trace(tmp_path)
    settings = {"ckpt 10 min": SpotSettings(share=0.5, preemption_rate=1.0, checkpoint_interval_s=600),
                "ckpt 10 min, replaced in 5 min": SpotSettings(share=0.5, preemption_rate=1.0,
                                                               checkpoint_interval_s=600, replacement_s=300)}
    by_policy = {policy: spot.run(tmp_path, spot.HERE / "spot_prices.toml", policy, quick=True, settings=settings)
                 for policy in ("best-fit", "fgd")}
    table = spot.recovery_table(by_policy, settings)
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    assert [(row[0].strip("| "), row[1]) for row in rows] == [
        (policy, name) for policy in ("best-fit", "fgd") for name in settings]
    for row, (policy, name) in zip(rows, [(p, n) for p in by_policy for n in settings], strict=True):
        outcome = by_policy[policy][name]
        assert int(row[2]) == outcome.preemptions > 0 and int(row[3]) == len(outcome.resume_after_return_s)
        assert row[8] == "10" and float(row[9].strip(" |")) <= 1.0, "a reclaim loses at most one interval"
        assert outcome.lost_work_s.max() < 600
