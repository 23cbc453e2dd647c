
import numpy as np

from shipyard.scheduling.policies import POLICIES
from benchmark_module import load_benchmark


scheduling = load_benchmark("scheduling")


def write_trace(folder, seed=0):
    rng = np.random.default_rng(seed)
    nodes = ["sn,cpu_milli,memory_mib,gpu,model"]
    for i in range(48):
        gpus = int(rng.choice([2, 4, 8]))
        nodes.append(f"node-{i},{16000 * gpus},{65536 * gpus},{gpus},{'T4' if gpus == 2 else 'V100M16'}")
    (folder / "openb_node_list_gpu_node.csv").write_text("\n".join(nodes) + "\n")
    header = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time," \
             "scheduled_time"
    for file in scheduling.VARIANTS.values():
        rows = [header]
        for i in range(300):
            num_gpu = int(rng.choice([0, 1, 1, 1, 2, 4]))
            milli = int(rng.choice([250, 500, 1000])) if num_gpu == 1 else 1000 if num_gpu else 0
            spec = "T4" if rng.random() < 0.2 else ""
            rows.append(f"pod-{i},{int(rng.choice([1000, 4000]))},4096,{num_gpu},{milli},{spec},LS,Running,"
                        f"{i * 10},{i * 10 + 500},{i * 10}")
        (folder / file).write_text("\n".join(rows) + "\n")


def test_the_benchmark_replays_every_policy_on_every_task_list_and_plots_them(tmp_path):
    write_trace(tmp_path)
    results = scheduling.run(tmp_path, quick=True, seed=0)
    assert set(results) == set(scheduling.VARIANTS)
    assert all(set(by_policy) == set(POLICIES) for by_policy in results.values())
    table = scheduling.table(results, 1.1)
    assert table.count("\n") == 1 + len(scheduling.VARIANTS) * len(POLICIES)
    headline = scheduling.headline(results, 1.1)
    assert headline.count("\n") == 1 + len(scheduling.VARIANTS)
    png = tmp_path / "plot.png"
    assert scheduling.plot(results, png, 1.1)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
