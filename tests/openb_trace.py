"""Small traces in the openb format (Alibaba's GPU cluster trace) for the scheduling benchmarks' tests."""

from __future__ import annotations

from pathlib import Path


def write_openb_trace(folder: Path, pods: list[tuple[str, int, str, int, int]], nodes: int = 40) -> None:
    """``nodes`` 8-GPU V100 nodes and the default task list: ``pods`` as (name, GPUs, qos, start, length)."""
    node_rows = ["sn,cpu_milli,memory_mib,gpu,model"] + [f"node-{i},64000,262144,8,V100M16" for i in range(nodes)]
    (folder / "openb_node_list_gpu_node.csv").write_text("\n".join(node_rows) + "\n")
    rows = ["name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,"
            "scheduled_time"]
    rows += [f"{name},4000,8192,{gpus},1000,,{qos},Running,{start},{start + length},{start}"
             for name, gpus, qos, start, length in pods]
    (folder / "openb_pod_list_default.csv").write_text("\n".join(rows) + "\n")
