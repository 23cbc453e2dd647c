import pytest

from shipyard.errors import UsageError
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.model import Node, Task
from shipyard.scheduling.placement import Placement, Queued, commit, place
from shipyard.scheduling.policies import make_policy
from shipyard.scheduling.quotas import Quotas


def test_a_team_past_its_gpu_quota_is_queued_and_other_teams_are_not():
    c = Cluster([Node(name="a", cpu_milli=64000, memory_mib=65536, num_gpu=8)])
    quotas = Quotas({"vision": 1500})
    policy = make_policy("best-fit")
    first = Task(name="v1", cpu_milli=0, num_gpu=1, team="vision")
    commit(first, c, place(first, c, policy, quotas=quotas))
    half = Task(name="v2", cpu_milli=0, num_gpu=1, gpu_milli=500, team="vision")
    commit(half, c, place(half, c, policy, quotas=quotas))
    over = place(Task(name="v3", cpu_milli=0, num_gpu=1, gpu_milli=100, team="vision"), c, policy, quotas=quotas)
    assert isinstance(over, Queued) and "1500 of 1500" in over.reason
    assert isinstance(place(Task(name="n1", cpu_milli=0, num_gpu=4, team="nlp"), c, policy, quotas=quotas), Placement)
    assert isinstance(place(Task(name="cpu", cpu_milli=1, team="vision"), c, policy, quotas=quotas), Placement)
    c.release("v1")
    assert isinstance(place(Task(name="v3", cpu_milli=0, num_gpu=1, team="vision"), c, policy, quotas=quotas),
                      Placement)


def test_a_negative_quota_is_refused():
    with pytest.raises(UsageError, match="negative"):
        Quotas({"vision": -1})
