"""Reading the openb GPU-cluster trace (Alibaba, ATC '23) into nodes and tasks."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import DataError, ShipyardError
from shipyard.scheduling.model import GPU_MILLI, Node, Task

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
TASK_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")


def _rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{path} has no column {missing[0]!r}",
                                hint=f"an openb file has the columns {', '.join(required)}")
            return list(reader)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}", hint="pass the path of an openb CSV file") from exc


def _int(row: dict[str, str], column: str, path: Path, line: int) -> int:
    try:
        return int(float(row[column] or 0))
    except ValueError:
        raise DataError(f"{path}:{line}: {column} is {row[column]!r}, not a number",
                        hint="openb columns hold integers") from None


def load_nodes(path: str | Path) -> list[Node]:
    path = Path(path)
    nodes = []
    for line, row in enumerate(_rows(path, NODE_COLUMNS), start=2):
        try:
            nodes.append(Node(name=row["sn"], cpu_milli=_int(row, "cpu_milli", path, line),
                              memory_mib=_int(row, "memory_mib", path, line), num_gpu=_int(row, "gpu", path, line),
                              gpu_type=row["model"] or ""))
        except ShipyardError as exc:
            raise DataError(f"{path}:{line}: {exc.message}", hint=exc.hint) from None
    return nodes


def load_tasks(path: str | Path) -> list[Task]:
    """Tasks in arrival order (``creation_time`` when the file has it, else file order), with their durations."""
    path = Path(path)
    rows = _rows(path, TASK_COLUMNS)
    timed = rows and "creation_time" in rows[0]
    tasks = []
    arrivals = []
    for line, row in enumerate(rows, start=2):
        num_gpu = _int(row, "num_gpu", path, line)
        gpu_milli = _int(row, "gpu_milli", path, line) if num_gpu == 1 else GPU_MILLI if num_gpu else 0
        duration = None
        if timed:
            created = _int(row, "creation_time", path, line)
            arrivals.append(created)
            if row.get("deletion_time"):
                duration = float(max(_int(row, "deletion_time", path, line) - created, 0))
        spec = tuple(t for t in (row.get("gpu_spec") or "").split("|") if t)
        try:
            tasks.append(Task(name=row["name"], cpu_milli=_int(row, "cpu_milli", path, line),
                              memory_mib=_int(row, "memory_mib", path, line), num_gpu=num_gpu, gpu_milli=gpu_milli,
                              gpu_types=spec, duration_s=duration))
        except ShipyardError as exc:
            raise DataError(f"{path}:{line}: {exc.message}", hint=exc.hint) from None
    if timed:
        order = sorted(range(len(tasks)), key=lambda i: (arrivals[i], i))
        tasks = [tasks[i] for i in order]
    return tasks


@dataclass(frozen=True)
class Arrival:
    """A task of a timed trace: when it arrives and its QoS class (``LS`` latency-sensitive, ``BE`` best effort, …)."""

    task: Task
    at_s: float
    qos: str


def load_arrivals(path: str | Path) -> list[Arrival]:
    """The tasks of a trace with ``creation_time`` and ``deletion_time``, in arrival order, each with a duration."""
    path = Path(path)
    rows = _rows(path, (*TASK_COLUMNS, "creation_time", "deletion_time"))
    by_name = {task.name: task for task in load_tasks(path)}
    if len(by_name) != len(rows):
        raise DataError(f"{path} names a task twice", hint="task names identify tasks: make them unique")
    arrivals = [Arrival(task=by_name[row["name"]], at_s=float(_int(row, "creation_time", path, line)),
                        qos=row.get("qos") or "")
                for line, row in enumerate(rows, start=2)]
    arrivals.sort(key=lambda a: a.at_s)
    return arrivals
