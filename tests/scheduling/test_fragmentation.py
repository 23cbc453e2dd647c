import numpy as np
import pytest

from shipyard.errors import UsageError
from shipyard.scheduling.fragmentation import FragmentationMeter, Workload
from shipyard.scheduling.model import Task


def task(name, **fields):
    return Task(name=name, cpu_milli=fields.pop("cpu_milli", 1000), **fields)


def measure(tasks, cpu, gpus, types=("T4",), type_index=None):
    meter = FragmentationMeter(Workload.of(tasks), list(types))
    rows = len(gpus)
    return meter.measure(np.array(cpu), np.array(gpus), np.array(type_index or [0] * rows)).tolist()


HALF_AND_PAIR = [task("half", num_gpu=1, gpu_milli=500), task("pair", num_gpu=2)]


def test_gpus_with_less_room_than_the_task_takes_are_fragments_weighted_by_popularity():
    # half: only the 300 is too small; pair: fits on the two whole GPUs, the 300 is a fragment for it too.
    assert measure(HALF_AND_PAIR, [4000], [[300, 1000, 1000, 0]]) == [300.0]
    # half fits (the 700); pair does not (one whole GPU): all 1700 free is a fragment for it -> 0.5*0 + 0.5*1700.
    assert measure(HALF_AND_PAIR, [4000], [[700, 1000, 0, 0]]) == [850.0]


def test_a_node_the_task_cannot_use_at_all_is_all_fragment():
    assert measure(HALF_AND_PAIR, [500], [[1000, 1000]]) == [2000.0]  # too little CPU for either shape
    typed = [task("v100-only", num_gpu=1, gpu_milli=500, gpu_types=("V100",))]
    assert measure(typed, [4000, 4000], [[1000, 1000], [1000, 1000]], types=("T4", "V100"),
                   type_index=[0, 1]) == [2000.0, 0.0]


def test_free_gpu_is_a_fragment_for_tasks_that_ask_for_none():
    mixed = [task("cpu"), task("cpu2"), task("gpu", num_gpu=1, gpu_milli=1000), task("gpu2", num_gpu=1, gpu_milli=1000)]
    assert measure(mixed, [8000], [[1000, 400]]) == [0.5 * 1400 + 0.5 * 400]


def test_popularity_counts_repeated_shapes():
    workload = Workload.of([task("a", num_gpu=1, gpu_milli=200)] * 3 + [task("b", num_gpu=1, gpu_milli=800)])
    assert workload.weight.tolist() == [0.75, 0.25]
    # 200-task: 300 and 500 both usable (0); 800-task: neither (800 fragment) -> 0.25*800
    assert measure([task("a", num_gpu=1, gpu_milli=200)] * 3 + [task("b", num_gpu=1, gpu_milli=800)],
                   [4000], [[300, 500]]) == [200.0]


def test_an_empty_workload_is_refused():
    with pytest.raises(UsageError, match="no tasks"):
        Workload.of([])
