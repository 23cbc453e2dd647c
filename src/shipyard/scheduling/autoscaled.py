"""A timed trace replayed on an autoscaled node pool, billed by the node-hours it kept up.

This is what a cluster operator pays: a node costs its whole price (every GPU, core and GiB, at
the price list's rates; a spot node at the spot discount) from the moment it is brought up until it
is scaled down, whatever runs on it. The trace's nodes are the pool's maximum and all start down.
A task goes on a node that is up and has room (the placement policy chooses); failing that, on a
node being brought up that will have room (it starts when the node is ready — the cluster
autoscaler counts its upcoming nodes); failing that, a down node that fits is brought up for it
(the expander policy chooses which, scoring the down nodes as if they were up) and the task waits
``provisioning_s`` for it. A node that stays empty for ``idle_s`` is scaled down (the cluster
autoscaler's scale-down-unneeded-time, 10 minutes by default). A task that fits no node of the pool
at all waits until one is free.

With ``Autoscaler.scale_down``, a node with tasks whose requested share stays below the threshold
for ``idle_s`` is also drained when every task on it fits on the other up, ready nodes (placed by
the same policy, tried in order of GPU demand, largest first); when they do not fit, it is checked
again every ``idle_s`` while it stays below. With ``compaction``, every ``interval_s`` the nodes under
its threshold are emptied, least used first, onto the up nodes at or above it, each node only when
all its tasks fit there. What a move costs a task, and which tasks may not move, is
``movability`` (``shipyard.scheduling.consolidation``).

With spot, a seeded share of the pool is spot capacity. Tasks of a spot-tolerant QoS class prefer
spot nodes (an up spot node, then an up on-demand one, then the same order among nodes coming up,
then bringing up a spot node before an on-demand one); every other task runs only on on-demand
nodes, so serving is never reclaimed. An up spot node is reclaimed by a Poisson process
(``preemption_rate`` per spot node-hour): it goes down at once, its tasks lose the work since their
last checkpoint and go back to the head of the queue, where they bring up another node if none has
room. With ``fallback`` (``shipyard.scheduling.deadlines.SpotFallback``), a tolerant task is asked,
each time it is to be placed or moved, whether its slack to its deadline still allows spot: when it
does not, it goes to on-demand nodes only (an up one, else one brought up) for the rest of its run,
and is no longer moved by drains or compaction (as if marked safe-to-evict "false" then).
Waiting is the time a task spends queued or waiting for its node, summed over its starts.
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
from shipyard.scheduling.consolidation import Compaction, Movability, ScaleDown, requested_share
from shipyard.scheduling.deadlines import Deadline, SpotFallback
from shipyard.scheduling.filters import feasible
from shipyard.scheduling.model import GPU_MILLI, Node, Task
from shipyard.scheduling.placement import Placement, commit, place
from shipyard.scheduling.policies import Policy
from shipyard.scheduling.spot import SpotSettings, spot_nodes
from shipyard.scheduling.trace import Arrival

MIB = 1024 ** 2
_ARRIVE, _FINISH, _IDLE, _RECLAIM, _UNNEEDED, _COMPACT = 0, 1, 2, 3, 4, 5


@dataclasses.dataclass(frozen=True, kw_only=True)
class Autoscaler:
    provisioning_s: float = 180.0
    """From deciding to bring a node up to it taking tasks: a cloud GPU node typically needs 2–5 minutes
    (instance start, GPU driver, kubelet registration); it is billed from the decision."""
    idle_s: float = 600.0
    """How long a node stays up empty, or under ``scale_down``'s threshold, before it is scaled down
    (cluster-autoscaler's scale-down-unneeded-time, 10 minutes by default)."""
    scale_down: ScaleDown | None = None
    """Drain lightly used nodes too, as cluster-autoscaler does by default; None: only empty nodes go."""

    def __post_init__(self):
        if not self.provisioning_s >= 0:
            raise UsageError(f"the provisioning delay is {self.provisioning_s} s",
                             hint="give the seconds a node takes from being brought up to taking tasks, 0 or more")
        if not self.idle_s >= 0:
            raise UsageError(f"the scale-down idle time is {self.idle_s} s",
                             hint="give the seconds a node stays up empty before it is scaled down, 0 or more")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bill:
    cost: float
    """Every node's full hourly price over its up intervals."""
    spot_cost: float
    node_hours: float
    spot_node_hours: float
    gpu_hours_up: float
    """GPUs of the up nodes × the hours they were up."""
    gpu_hours_used: float
    """GPU demand of the running tasks × their running time, redone work included."""
    scale_ups: int
    peak_nodes: int
    waiting_s: np.ndarray
    """Per task that finished: seconds queued or waiting for its node to come up, over all its starts."""
    deadline_misses: int
    """Tasks that finished after they were due, or never did."""
    preemptions: int
    lost_gpu_hours: float
    """GPU-hours of work redone after reclaims and moves."""
    drained_nodes: int
    """Nodes scaled down by the utilization rule, their tasks moved."""
    moved_tasks: int
    """Task moves, by drains and compaction."""
    serving_restarts: int
    """Of ``moved_tasks``, the serving replicas restarted elsewhere."""
    compacted_tasks: int
    """Of ``moved_tasks``, those evicted by compaction."""
    moved_lost_gpu_hours: float
    """Of ``lost_gpu_hours``, the work checkpointing tasks redid after a move."""
    unfinished: int
    makespan_s: float
    fallbacks: int = 0
    """Tolerant tasks sent to on-demand nodes for good by the slack rule (``fallback``)."""

    @property
    def gpu_utilization(self) -> float:
        return self.gpu_hours_used / self.gpu_hours_up if self.gpu_hours_up else 0.0


@dataclasses.dataclass(eq=False)
class _Job:
    arrival: Arrival
    task: Task
    tolerant: bool
    remaining_s: float
    queued_at: float
    waited_s: float = 0.0
    started_at: float = 0.0
    node: int = -1
    token: int = 0
    finished_at: float = float("nan")
    due: float = float("inf")
    on_demand: bool = False
    """A tolerant task the slack rule sent to on-demand nodes: it stays there."""
    pinned: bool = False
    """Running and not to be moved: its QoS does not move, or the slack rule sent it to on-demand."""


def simulate(arrivals: Sequence[Arrival], nodes: Sequence[Node], prices: PriceList,
             make_policy: Callable[[], Policy], *, make_expander: Callable[[], Policy] | None = None,
             spot: SpotSettings | None = None, autoscaler: Autoscaler = Autoscaler(),
             compaction: Compaction | None = None, movability: Movability = Movability(),
             deadline: Deadline = Deadline(), fallback: SpotFallback | None = None) -> Bill:
    """Replay ``arrivals`` on a pool of at most ``nodes``, brought up and down as tasks need (see the module).

    ``make_expander`` makes the policy that picks which down node to bring up; by default the placement policy.
    ``fallback``: send a tolerant task to on-demand nodes, for good, once its slack to ``deadline`` is too small.
    """
    _check(arrivals, nodes, spot)
    chosen = spot_nodes(len(nodes), spot) if spot is not None else set()
    cluster = Cluster(dataclasses.replace(node, spot=i in chosen) for i, node in enumerate(nodes))
    policy = make_policy()
    expander = make_expander() if make_expander is not None else policy
    hourly = np.array([prices.hourly(cpu=node.cpu_milli / 1000, memory_bytes=node.memory_mib * MIB,
                                     gpus=node.num_gpu, gpu_type=node.gpu_type, spot=node.spot)
                       for node in cluster.nodes])
    is_spot = cluster.spot
    up = np.zeros(len(cluster), dtype=bool)
    up_since = np.zeros(len(cluster))
    ready_at = np.zeros(len(cluster))
    epoch = np.zeros(len(cluster), dtype=np.int64)
    """Counts each node's ups and downs: a reclaim or idle check drawn for an earlier up interval is stale."""
    changes = np.zeros(len(cluster), dtype=np.int64)
    on_node: list[set[_Job]] = [set() for _ in cluster.nodes]
    pinned = np.zeros(len(cluster), dtype=np.int64)
    """Tasks on each node that may not be moved."""
    below_since = np.full(len(cluster), np.nan)
    """Since when each up node with tasks has been under the scale-down threshold (NaN: it is not)."""
    scale_down = autoscaler.scale_down
    tolerant_qos = spot.tolerant_qos if spot else ()
    rng = np.random.default_rng(spot.seed if spot else 0)
    events: list[tuple[float, int, int, object]] = []
    sequence = itertools.count()
    totals = dict(cost=0.0, spot_cost=0.0, hours=0.0, spot_hours=0.0, gpu_up=0.0, gpu_used=0.0, lost=0.0,
                  moved_lost=0.0)
    counts = dict(scale_ups=0, peak=0, preemptions=0, drained=0, moved=0, restarts=0, compacted=0, fallbacks=0)

    def push(at: float, kind: int, payload: object) -> None:
        heapq.heappush(events, (at, next(sequence), kind, payload))

    jobs = []
    for arrival in arrivals:
        tolerant = spot is not None and arrival.qos in tolerant_qos
        task = dataclasses.replace(arrival.task, spot=True) if tolerant else arrival.task
        jobs.append(_Job(arrival=arrival, task=task, tolerant=tolerant, remaining_s=float(task.duration_s),
                         queued_at=arrival.at_s,
                         due=float(deadline.due(np.array([arrival.at_s]), np.array([float(task.duration_s)]))[0])))
    for job in jobs:
        push(job.arrival.at_s, _ARRIVE, job)
    if compaction is not None:
        push(min(job.arrival.at_s for job in jobs) + compaction.interval_s, _COMPACT, None)
    waiting: deque[_Job] = deque()

    def bring_up(node: int, now: float) -> None:
        up[node], up_since[node], ready_at[node] = True, now, now + autoscaler.provisioning_s
        epoch[node] += 1
        counts["scale_ups"] += 1
        counts["peak"] = max(counts["peak"], int(up.sum()))
        if is_spot[node] and spot.preemption_rate > 0:
            push(now + float(rng.exponential(3600.0 / spot.preemption_rate)), _RECLAIM, (node, epoch[node]))

    def take_down(node: int, now: float) -> None:
        hours = (now - up_since[node]) / 3600
        totals["cost"] += hourly[node] * hours
        totals["hours"] += hours
        totals["gpu_up"] += cluster.gpu_count[node] * hours
        if is_spot[node]:
            totals["spot_cost"] += hourly[node] * hours
            totals["spot_hours"] += hours
        up[node] = False
        epoch[node] += 1
        below_since[node] = np.nan

    def review(node: int, now: float) -> None:
        """Start or stop the node's time under the scale-down threshold."""
        if scale_down is None:
            return
        if (up[node] and on_node[node] and not pinned[node]
                and requested_share(cluster, np.array([node]))[0] < scale_down.utilization_threshold):
            if np.isnan(below_since[node]):
                below_since[node] = now
                push(now + autoscaler.idle_s, _UNNEEDED, (node, epoch[node], now))
        else:
            below_since[node] = np.nan

    def run_on(job: _Job, decision: Placement, now: float, *, committed: bool = False) -> None:
        node = decision.node_index
        if not committed:
            commit(job.task, cluster, decision)
        job.node, job.token = node, job.token + 1
        job.started_at = max(now, ready_at[node])
        job.waited_s += job.started_at - job.queued_at
        on_node[node].add(job)
        job.pinned = not movability.movable(job.arrival.qos) or job.on_demand
        pinned[node] += job.pinned
        changes[node] += 1
        push(job.started_at + job.remaining_s, _FINISH, (job, job.token))
        review(node, now)

    def may_use_spot(job: _Job, now: float, remaining_s: float) -> bool:
        """Whether ``job`` may go to spot now, ``remaining_s`` of work left; a no from the slack rule is for good."""
        if not job.tolerant or job.on_demand:
            return False
        if fallback is not None and not fallback.may_use_spot(due_s=job.due, now_s=now, remaining_s=remaining_s):
            job.on_demand = True
            counts["fallbacks"] += 1
            return False
        return True

    def pools_of(job: _Job, spot_allowed: bool) -> list[np.ndarray]:
        return [is_spot, ~is_spot] if spot_allowed else [~is_spot]

    def start(job: _Job, now: float) -> bool:
        pools = pools_of(job, may_use_spot(job, now, job.remaining_s))
        ready = up & (ready_at <= now)
        for state in (ready, up & ~ready):
            for pool in pools:
                decision = place(job.task, cluster, policy, among=state & pool)
                if isinstance(decision, Placement):
                    run_on(job, decision, now)
                    return True
        for pool in pools:
            decision = place(job.task, cluster, expander, among=~up & pool)
            if isinstance(decision, Placement):
                bring_up(decision.node_index, now)
                run_on(job, decision, now)
                return True
        return False

    def stop(job: _Job, now: float) -> None:
        ran = max(0.0, now - job.started_at)
        totals["gpu_used"] += job.task.gpu_demand_milli / GPU_MILLI * ran / 3600
        cluster.release(job.task.name)
        node = job.node
        on_node[node].discard(job)
        pinned[node] -= job.pinned
        job.pinned = False
        job.node = -1
        if not on_node[node]:
            push(now + autoscaler.idle_s, _IDLE, (node, epoch[node], changes[node]))
        review(node, now)

    def move_all(node: int, targets: np.ndarray, now: float, *, compacting: bool) -> bool:
        """Move every task off ``node`` onto ``targets`` if they all fit there; else change nothing."""
        movers = sorted(on_node[node], key=lambda j: (-j.task.gpu_demand_milli, j.arrival.at_s, j.task.name))
        if any(not (feasible(job.task, cluster) & targets).any() for job in movers):
            return False
        spot_allowed = {job: may_use_spot(job, now, job.remaining_s - movability.saved_s(
            job.arrival.qos, max(0.0, now - job.started_at))) for job in movers}
        stuck = [job for job in movers if job.on_demand]
        if stuck:
            # The slack rule said no to them: a move would cost work they have no slack for, so they stay.
            for job in stuck:
                pinned[node] += not job.pinned
                job.pinned = True
            review(node, now)
            return False
        released = [cluster.release(job.task.name) for job in movers]
        placed: list[tuple[_Job, Placement]] = []
        for job in movers:
            decision = next((d for pool in pools_of(job, spot_allowed[job])
                             if isinstance(d := place(job.task, cluster, policy, among=targets & pool), Placement)),
                            None)
            if decision is None:
                for moved, _ in placed:
                    cluster.release(moved.task.name)
                for allocation in released:
                    if allocation.ends_at is not None:
                        cluster.now = allocation.ends_at - allocation.task.duration_s
                    cluster.allocate(allocation.task, node, allocation.gpus)
                cluster.now = now
                return False
            commit(job.task, cluster, decision)
            placed.append((job, decision))
        for job, decision in placed:
            ran = max(0.0, now - job.started_at)
            saved = movability.saved_s(job.arrival.qos, ran)
            demand = job.task.gpu_demand_milli / GPU_MILLI
            totals["gpu_used"] += demand * ran / 3600
            totals["lost"] += demand * (ran - saved) / 3600
            totals["moved_lost"] += demand * (ran - saved) / 3600
            on_node[node].discard(job)
            job.remaining_s -= saved
            job.queued_at = now
            counts["moved"] += 1
            counts["restarts"] += job.arrival.qos in movability.serving_qos
            counts["compacted"] += compacting
            run_on(job, decision, now, committed=True)
        changes[node] += 1
        if compacting:
            push(now + autoscaler.idle_s, _IDLE, (node, epoch[node], changes[node]))
        review(node, now)
        return True

    def retry_waiting(now: float) -> None:
        for _ in range(len(waiting)):
            job = waiting.popleft()
            if not start(job, now):
                waiting.append(job)

    while events:
        now, _, kind, payload = heapq.heappop(events)
        cluster.now = now
        if kind == _ARRIVE:
            job = payload
            if waiting or not start(job, now):
                waiting.append(job)
                retry_waiting(now)
        elif kind == _FINISH:
            job, token = payload
            if token != job.token or job.node < 0:
                continue
            stop(job, now)
            job.finished_at = now
            retry_waiting(now)
        elif kind == _IDLE:
            node, node_epoch, node_changes = payload
            if up[node] and epoch[node] == node_epoch and changes[node] == node_changes and not on_node[node]:
                take_down(node, now)
                retry_waiting(now)
        elif kind == _UNNEEDED:
            node, node_epoch, since = payload
            if not up[node] or epoch[node] != node_epoch or below_since[node] != since:
                continue
            if ready_at[node] <= now and move_all(node, up & (ready_at <= now) & (np.arange(len(cluster)) != node),
                                                  now, compacting=False):
                counts["drained"] += 1
                take_down(node, now)
            else:
                push(now + autoscaler.idle_s, _UNNEEDED, payload)
        elif kind == _COMPACT:
            ready_up = np.flatnonzero(up & (ready_at <= now))
            share = requested_share(cluster, ready_up)
            above = np.zeros(len(cluster), dtype=bool)
            above[ready_up[share >= compaction.utilization_threshold]] = True
            for at in np.argsort(share, kind="stable"):
                node = int(ready_up[at])
                if share[at] >= compaction.utilization_threshold:
                    break
                if on_node[node] and not pinned[node]:
                    move_all(node, above, now, compacting=True)
            if events:
                push(now + compaction.interval_s, _COMPACT, None)
        else:
            node, node_epoch = payload
            if not up[node] or epoch[node] != node_epoch:
                continue
            victims = sorted(on_node[node], key=lambda j: (j.arrival.at_s, j.task.name))
            for job in victims:
                ran = max(0.0, now - job.started_at)
                saved = ran // spot.checkpoint_interval_s * spot.checkpoint_interval_s
                totals["lost"] += job.task.gpu_demand_milli / GPU_MILLI * (ran - saved) / 3600
                stop(job, now)
                job.remaining_s -= saved
                job.token += 1
                job.queued_at = now
                counts["preemptions"] += 1
            take_down(node, now)
            waiting.extendleft(reversed(victims))
            retry_waiting(now)
    return _bill(jobs, deadline, totals, counts)


def _check(arrivals: Sequence[Arrival], nodes: Sequence[Node], spot: SpotSettings | None) -> None:
    if not arrivals:
        raise UsageError("the trace has no tasks", hint="replay a trace with at least one task")
    if not nodes:
        raise UsageError("the node pool is empty", hint="give the nodes the autoscaler may bring up")
    untimed = next((a.task.name for a in arrivals if a.task.duration_s is None), None)
    if untimed is not None:
        raise UsageError(f"task {untimed!r} has no duration",
                         hint="replay a trace with creation_time and deletion_time for every task")
    if spot is not None and spot.replacement_s:
        raise UsageError(f"a replacement delay of {spot.replacement_s} s was given to an autoscaled pool",
                         hint="leave replacement_s at 0: here a reclaimed node's tasks bring up another node, "
                              "after the autoscaler's provisioning delay")


def _bill(jobs: list[_Job], deadline: Deadline, totals: dict[str, float], counts: dict[str, int]) -> Bill:
    arrival = np.array([job.arrival.at_s for job in jobs])
    duration = np.array([float(job.arrival.task.duration_s) for job in jobs])
    finished = np.array([job.finished_at for job in jobs])
    done = ~np.isnan(finished)
    return Bill(cost=totals["cost"], spot_cost=totals["spot_cost"], node_hours=totals["hours"],
                spot_node_hours=totals["spot_hours"], gpu_hours_up=totals["gpu_up"],
                gpu_hours_used=totals["gpu_used"], scale_ups=counts["scale_ups"], peak_nodes=counts["peak"],
                waiting_s=np.array([job.waited_s for job in jobs if not np.isnan(job.finished_at)]),
                deadline_misses=deadline.misses(arrival, duration, finished), preemptions=counts["preemptions"],
                lost_gpu_hours=totals["lost"], drained_nodes=counts["drained"], moved_tasks=counts["moved"],
                serving_restarts=counts["restarts"], compacted_tasks=counts["compacted"],
                moved_lost_gpu_hours=totals["moved_lost"], unfinished=int((~done).sum()),
                makespan_s=float(finished[done].max() - arrival.min()) if done.any() else 0.0,
                fallbacks=counts["fallbacks"])
