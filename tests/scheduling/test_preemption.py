from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.model import BATCH_HIGH, BATCH_LOW, SERVING, Node, Task
from shipyard.scheduling.placement import Placement, place
from shipyard.scheduling.policies import make_policy
from shipyard.scheduling.preemption import Preemption, may_preempt, plan_preemption, preempt


def task(name, priority_class="batch", num_gpu=1, **fields):
    return Task(name=name, cpu_milli=1000, num_gpu=num_gpu, priority_class=priority_class, **fields)


def test_only_spot_or_batch_low_of_lower_priority_may_be_preempted_and_serving_never():
    high, low = task("high", BATCH_HIGH), task("low", BATCH_LOW)
    assert may_preempt(high, low)
    assert may_preempt(high, task("spot", spot=True))
    assert not may_preempt(high, task("batch"))
    assert not may_preempt(task("other-low", BATCH_LOW), low)
    assert not may_preempt(task("serving", SERVING), task("serving-spot", SERVING, spot=True))
    assert not may_preempt(task("low-spot", BATCH_LOW, spot=True), task("peer", BATCH_LOW))


def full_cluster(*residents):
    c = Cluster([Node(name=f"n{i}", cpu_milli=8000, memory_mib=8192, num_gpu=2) for i in range(len(residents))])
    for i, pair in enumerate(residents):
        for g, resident in enumerate(pair):
            c.allocate(resident, i, (g,))
    return c


def test_the_plan_evicts_the_fewest_allowed_victims_and_never_serving():
    c = full_cluster((task("s0", SERVING), task("l0", BATCH_LOW)),
                     (task("l1", BATCH_LOW), task("l2", BATCH_LOW)),
                     (task("b0"), task("spot0", spot=True)))
    one_gpu = plan_preemption(task("high", BATCH_HIGH), c)
    assert one_gpu == Preemption("n0", 0, ("l0",))
    two_gpus = plan_preemption(task("big", BATCH_HIGH, num_gpu=2), c)
    assert two_gpus == Preemption("n1", 1, ("l1", "l2"))


def test_no_plan_when_only_serving_and_ordinary_batch_hold_the_gpus():
    c = full_cluster((task("s0", SERVING), task("b0")))
    assert plan_preemption(task("urgent", SERVING), c) is None
    assert plan_preemption(task("low", BATCH_LOW), full_cluster((task("l0", BATCH_LOW), task("l1", BATCH_LOW)))) is None


def test_after_preempting_the_task_is_placed_where_the_victims_were():
    c = full_cluster((task("s0", SERVING), task("l0", BATCH_LOW)))
    high = task("high", BATCH_HIGH)
    plan = plan_preemption(high, c)
    evicted = preempt(plan, c)
    assert [a.task.name for a in evicted] == ["l0"] and set(c.running) == {"s0"}
    assert place(high, c, make_policy("best-fit")) == Placement("n0", 0, (1,))
