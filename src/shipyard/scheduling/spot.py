"""A timed trace replayed on a cluster with spot capacity, against the same cluster all on-demand.

Tasks arrive at their trace time and run for their trace duration. With spot, a seeded share of
the nodes is spot capacity, priced at the price list's spot discount and reclaimed by a Poisson
process (``preemption_rate`` per spot node-hour; a reclaimed node's replacement joins
``replacement_s`` later, at once by default). Tasks of a
spot-tolerant QoS class (by default ``BE``: batch training that checkpoints) go to spot nodes
first and to on-demand nodes when no spot node has room; every other task (``LS`` serving among
them) only ever runs on-demand. A preempted task loses the work done since its last checkpoint
(every ``checkpoint_interval_s`` of its run) and goes back to the head of the queue. A task that
fits nowhere waits; waiting tasks are retried, oldest first, whenever resources are released.

Cost is usage: each running stretch of a task pays its resources (GPUs at the node's GPU type,
cores, memory) for its length, spot stretches at the discount, lost work included.

Each reclaim of a task is followed to its resumption: the work it lost (bounded by the checkpoint
interval), and the time from its capacity returning (the replacement node joining) to the task
running again — 0 when it resumed elsewhere before that.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from shipyard.errors import UsageError
from shipyard.governance.prices import PriceList
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.model import GPU_MILLI, Node
from shipyard.scheduling.placement import Placement, commit, place
from shipyard.scheduling.policies import Policy
from shipyard.scheduling.trace import Arrival

MIB = 1024 ** 2
_ARRIVE, _FINISH, _RECLAIM, _RETURN = 0, 1, 2, 3


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpotSettings:
    share: float = 0.35
    """Share of the nodes that are spot capacity."""
    preemption_rate: float = 0.05
    """Reclaims per spot node-hour."""
    checkpoint_interval_s: float = 1800.0
    """How often a spot-tolerant task saves its progress while it runs."""
    tolerant_qos: tuple[str, ...] = ("BE",)
    replacement_s: float = 0.0
    """How long after a reclaim the node's replacement joins (0: at once)."""
    seed: int = 0

    def __post_init__(self):
        if not 0 < self.share < 1:
            raise UsageError(f"the spot share is {self.share}", hint="give a share of the nodes between 0 and 1")
        if self.preemption_rate < 0:
            raise UsageError(f"the preemption rate is {self.preemption_rate}",
                             hint="give reclaims per spot node-hour, 0 or more")
        if not self.checkpoint_interval_s > 0:
            raise UsageError(f"the checkpoint interval is {self.checkpoint_interval_s} s",
                             hint="give a positive number of seconds")
        if not self.replacement_s >= 0:
            raise UsageError(f"the replacement delay is {self.replacement_s} s",
                             hint="give the seconds a reclaimed node takes to be replaced, 0 or more")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpotOutcome:
    cost: float
    tolerant_cost: float
    """What the spot-tolerant tasks cost (their share of ``cost``)."""
    makespan_s: float
    """From the first arrival to the last completion."""
    tolerant_delay_s: np.ndarray
    """Per spot-tolerant task that finished: completion - arrival - duration (waiting plus redone work)."""
    tolerant_tasks: int
    preemptions: int
    lost_gpu_hours: float
    tolerant_gpu_hours_on_spot: float
    tolerant_gpu_hours: float
    unfinished: int
    lost_work_s: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    """Per reclaim of a task: the seconds of its work since its last checkpoint, redone later."""
    resume_after_return_s: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    """Per reclaim of a task that resumed: from its capacity returning to it running again (0 when earlier)."""
    resume_after_reclaim_s: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    """Per reclaim of a task that resumed: from the reclaim to it running again."""

    @property
    def spot_gpu_share(self) -> float:
        return self.tolerant_gpu_hours_on_spot / self.tolerant_gpu_hours if self.tolerant_gpu_hours else 0.0


@dataclasses.dataclass(eq=False)
class _Job:
    arrival: Arrival
    tolerant: bool
    remaining_s: float
    started_at: float = 0.0
    token: int = 0
    pool: int = -1
    finished_at: float | None = None
    reclaimed: tuple[float, float] | None = None
    """(when it was last reclaimed, when that capacity returns) until it runs again."""


def simulate(arrivals: Sequence[Arrival], nodes: Sequence[Node], prices: PriceList,
             make_policy: Callable[[], Policy], *, spot: SpotSettings | None = None) -> SpotOutcome:
    """Replay ``arrivals`` on ``nodes``; with ``spot``, a share of them is spot capacity (see the module)."""
    if not arrivals:
        raise UsageError("the trace has no tasks", hint="replay a trace with at least one task")
    untimed = next((a.task.name for a in arrivals if a.task.duration_s is None), None)
    if untimed is not None:
        raise UsageError(f"task {untimed!r} has no duration",
                         hint="replay a trace with creation_time and deletion_time for every task")
    pools = _pools(nodes, spot)
    policies = [make_policy() for _ in pools]
    tolerant_qos = spot.tolerant_qos if spot else ("BE",)
    rng = np.random.default_rng(spot.seed if spot else 0)
    events: list[tuple[float, int, int, object]] = []
    sequence = itertools.count()

    def push(at: float, kind: int, payload: object) -> None:
        heapq.heappush(events, (at, next(sequence), kind, payload))

    jobs = [_Job(arrival=a, tolerant=a.qos in tolerant_qos, remaining_s=float(a.task.duration_s or 0.0))
            for a in arrivals]
    for job in jobs:
        push(job.arrival.at_s, _ARRIVE, job)
    if spot is not None and spot.preemption_rate > 0:
        for node in range(len(pools[0])):
            push(arrivals[0].at_s + _next_reclaim(rng, spot), _RECLAIM, node)
    on_node: list[dict[int, set[_Job]]] = [{} for _ in pools]
    waiting: deque[_Job] = deque()
    totals = dict(cost=0.0, tolerant_cost=0.0, lost=0.0, spot_gpu_h=0.0, gpu_h=0.0)
    preemptions = 0
    counts = dict(to_arrive=len(jobs), running=0)
    lost_work: list[float] = []
    resumed: list[tuple[float, float]] = []

    def charge(job: _Job, seconds: float) -> None:
        cluster = pools[job.pool]
        task = job.arrival.task
        node = cluster.nodes[cluster.running[task.name].node]
        gpus = task.gpu_demand_milli / GPU_MILLI
        cost = prices.hourly(cpu=task.cpu_milli / 1000, memory_bytes=task.memory_mib * MIB, gpus=gpus,
                             gpu_type=node.gpu_type, spot=node.spot) * seconds / 3600
        totals["cost"] += cost
        if job.tolerant:
            totals["tolerant_cost"] += cost
            totals["gpu_h"] += gpus * seconds / 3600
            if node.spot:
                totals["spot_gpu_h"] += gpus * seconds / 3600

    def start(job: _Job, now: float) -> bool:
        task = job.arrival.task
        order = range(len(pools)) if job.tolerant else [len(pools) - 1]
        for pool in order:
            cluster = pools[pool]
            candidate = dataclasses.replace(task, spot=True) if cluster.spot.any() else task
            cluster.now = now
            decision = place(candidate, cluster, policies[pool])
            if isinstance(decision, Placement):
                commit(candidate, cluster, decision)
                if job.reclaimed is not None:
                    reclaimed_at, returns_at = job.reclaimed
                    resumed.append((max(0.0, now - returns_at), now - reclaimed_at))
                    job.reclaimed = None
                job.pool, job.started_at, job.token = pool, now, job.token + 1
                on_node[pool].setdefault(decision.node_index, set()).add(job)
                counts["running"] += 1
                push(now + job.remaining_s, _FINISH, (job, job.token))
                return True
        return False

    def stop(job: _Job, now: float) -> None:
        charge(job, now - job.started_at)
        cluster = pools[job.pool]
        allocation = cluster.release(job.arrival.task.name)
        on_node[job.pool][allocation.node].discard(job)
        job.pool = -1
        counts["running"] -= 1

    def retry_waiting(now: float) -> None:
        for _ in range(len(waiting)):
            job = waiting.popleft()
            if not start(job, now):
                waiting.append(job)

    while events and (counts["to_arrive"] or counts["running"]):
        now, _, kind, payload = heapq.heappop(events)
        if kind == _ARRIVE:
            job = payload
            counts["to_arrive"] -= 1
            if waiting or not start(job, now):
                waiting.append(job)
                retry_waiting(now)
        elif kind == _FINISH:
            job, token = payload
            if token != job.token or job.pool < 0:
                continue
            stop(job, now)
            job.finished_at = now
            retry_waiting(now)
        elif kind == _RETURN:
            _available(pools[0], payload, True)
            retry_waiting(now)
        else:
            node = payload
            returns_at = now + spot.replacement_s
            push(returns_at + _next_reclaim(rng, spot), _RECLAIM, node)
            victims = sorted(on_node[0].get(node, ()), key=lambda j: (j.arrival.at_s, j.arrival.task.name))
            for job in victims:
                ran = now - job.started_at
                saved = ran // spot.checkpoint_interval_s * spot.checkpoint_interval_s
                totals["lost"] += job.arrival.task.gpu_demand_milli / GPU_MILLI * (ran - saved) / 3600
                lost_work.append(ran - saved)
                stop(job, now)
                job.remaining_s -= saved
                job.token += 1
                job.reclaimed = (now, returns_at)
                preemptions += 1
            if spot.replacement_s > 0:
                _available(pools[0], node, False)
                push(returns_at, _RETURN, node)
            waiting.extendleft(reversed(victims))
            if victims:
                retry_waiting(now)
    finished = [job for job in jobs if job.finished_at is not None]
    first = min(a.at_s for a in arrivals)
    delays = np.array([job.finished_at - job.arrival.at_s - job.arrival.task.duration_s
                       for job in finished if job.tolerant])
    return SpotOutcome(cost=totals["cost"], tolerant_cost=totals["tolerant_cost"],
                       makespan_s=max((job.finished_at for job in finished), default=first) - first,
                       tolerant_delay_s=delays, tolerant_tasks=sum(job.tolerant for job in jobs),
                       preemptions=preemptions, lost_gpu_hours=totals["lost"],
                       tolerant_gpu_hours_on_spot=totals["spot_gpu_h"], tolerant_gpu_hours=totals["gpu_h"],
                       unfinished=len(jobs) - len(finished), lost_work_s=np.array(lost_work),
                       resume_after_return_s=np.array([r for r, _ in resumed]),
                       resume_after_reclaim_s=np.array([d for _, d in resumed]))


def _pools(nodes: Sequence[Node], spot: SpotSettings | None) -> list[Cluster]:
    """[spot nodes, on-demand nodes] with spot; [all nodes] without. The last pool is always on-demand."""
    if spot is None:
        return [Cluster(dataclasses.replace(node, spot=False) for node in nodes)]
    chosen = spot_nodes(len(nodes), spot)
    return [Cluster(dataclasses.replace(node, spot=True) for i, node in enumerate(nodes) if i in chosen),
            Cluster(dataclasses.replace(node, spot=False) for i, node in enumerate(nodes) if i not in chosen)]


def spot_nodes(count: int, spot: SpotSettings) -> set[int]:
    """The indices of the nodes that are spot capacity: a seeded draw of ``spot.share`` of ``count`` nodes."""
    rng = np.random.default_rng(spot.seed)
    chosen = round(spot.share * count)
    if not 0 < chosen < count:
        raise UsageError(f"a spot share of {spot.share} of {count} nodes leaves no spot or no on-demand node",
                         hint="replay more nodes, or a share nearer the middle")
    return set(rng.choice(count, size=chosen, replace=False).tolist())


def _available(cluster: Cluster, node: int, available: bool) -> None:
    """A reclaimed node leaves until its replacement joins: nothing fits on it meanwhile (it is empty then)."""
    if available:
        cluster.observe(node, cpu_milli=int(cluster.cpu_capacity[node]), memory_mib=int(cluster.memory_capacity[node]),
                        gpu_milli=[GPU_MILLI] * int(cluster.gpu_count[node]))
    else:
        cluster.observe(node, cpu_milli=-1, memory_mib=-1, gpu_milli=[0] * int(cluster.gpu_count[node]))


def _next_reclaim(rng: np.random.Generator, spot: SpotSettings) -> float:
    return float(rng.exponential(3600.0 / spot.preemption_rate))
