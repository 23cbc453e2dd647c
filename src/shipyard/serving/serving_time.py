"""Each gateway's serving time: how long it was up, per model it served, with the resources it requests.

A gateway counts the wall-clock seconds it is up, per UTC hour; while it routes several models each
gets an equal share of that time (a replica's time has no other owner), and while it routes none the
time is nobody's. Every ``interval_s`` (and when it stops) it writes each hour it touched to
``<prediction log>/_serving_time/hour=<YYYY-MM-DDTHH>/gateway=<id>.json`` —
``{"resources": {...}, "seconds": {model: s}}`` — replacing what it wrote for that hour before, so a
file holds one gateway's whole hour. :func:`served_time` reads them back for cost.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Collection
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shipyard.serving.periodic import Periodic

log = logging.getLogger(__name__)
FOLDER = "_serving_time"
HOUR_FORMAT = "%Y-%m-%dT%H"


class ServingClock:
    def __init__(self, models: Callable[[], Collection[str]], root: Path | str, resources: dict[str, Any], *,
                 gateway_id: str | None = None, interval_s: float = 60.0, clock: Callable[[], float] = time.time):
        self.models, self.root, self.resources, self.clock = models, root, dict(resources), clock
        self.gateway_id = gateway_id or uuid.uuid4().hex[:12]
        self.seconds: dict[str, dict[str, float]] = {}
        """UTC hour -> model -> seconds served in it."""
        self._dirty: set[str] = set()
        self._last = clock()
        self._lock = threading.Lock()
        self._loop = Periodic("serving-time", interval_s, self.record, "cannot record the gateway's serving time")

    def tick(self) -> None:
        """Add the time since the last tick to the models routed now, hour by hour."""
        with self._lock:
            now = self.clock()
            start, self._last = self._last, now
            models = sorted(self.models())
            if not models or now <= start:
                return
            while start < now:
                hour_start = start - start % 3600
                end = min(now, hour_start + 3600)
                hour = datetime.fromtimestamp(hour_start, timezone.utc).strftime(HOUR_FORMAT)
                served = self.seconds.setdefault(hour, {})
                for model in models:
                    served[model] = served.get(model, 0.0) + (end - start) / len(models)
                self._dirty.add(hour)
                start = end

    def flush(self) -> None:
        """Write every hour that changed since the last flush."""
        from shipyard.store import object_files

        with self._lock:
            pending = {hour: dict(self.seconds[hour]) for hour in sorted(self._dirty)}
            self._dirty.clear()
        for hour, served in pending.items():
            data = json.dumps({"gateway": self.gateway_id, "resources": self.resources, "seconds": served},
                              sort_keys=True).encode()
            target = object_files.join(object_files.location(self.root), FOLDER, f"hour={hour}",
                                       f"gateway={self.gateway_id}.json")
            try:
                _write(target, data)
            except Exception:
                with self._lock:
                    self._dirty.add(hour)
                raise

    def record(self) -> None:
        self.tick()
        self.flush()

    def start(self) -> None:
        self._last = self.clock()
        self._loop.start()

    def stop(self) -> None:
        """Stop the loop and write the last stretch; a write that fails is logged, the gateway still stops."""
        self._loop.stop()
        try:
            self.record()
        except Exception:
            log.exception("serving-time: the last stretch of serving time could not be written")


def _write(target: Path | str, data: bytes) -> None:
    from shipyard.store import object_files

    if isinstance(target, str):
        object_files.write_bytes(target, data)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def served_time(root: Path | str, *, since: datetime,
                until: datetime) -> dict[str, dict[str, list[tuple[float, dict]]]]:
    """Per model, per day (``YYYY-MM-DD``, UTC): (seconds, resources) of each gateway-hour in the window.

    An hour counts whole when it began in ``[since, until)`` or holds ``since``: the window's edges are
    as coarse as an hour."""
    from shipyard.store import object_files

    root = object_files.location(root)
    found: dict[str, dict[str, list[tuple[float, dict]]]] = {}
    for path in object_files.glob(root, f"{FOLDER}/hour=*/gateway=*.json"):
        hour = str(path).rsplit("hour=", 1)[1].split("/", 1)[0]
        began = datetime.strptime(hour, HOUR_FORMAT).replace(tzinfo=timezone.utc)
        if not since.replace(minute=0, second=0, microsecond=0) <= began < until:
            continue
        record = json.loads(object_files.read_bytes(path))
        for model, seconds in record.get("seconds", {}).items():
            found.setdefault(model, {}).setdefault(hour[:10], []).append((float(seconds), record.get("resources", {})))
    return found
