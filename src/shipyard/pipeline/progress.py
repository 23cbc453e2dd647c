"""Live progress of a run: a Rich table on a terminal, one line per change otherwise."""

from __future__ import annotations

import sys
import time
from typing import Protocol

from shipyard.pipeline.state import StepState

_STYLE = {"pending": "dim", "running": "cyan", "succeeded": "green", "cached": "blue",
          "failed": "bold red", "retrying": "yellow", "skipped": "dim", "cancelled": "magenta"}


class Reporter(Protocol):
    def start(self, run_id: str, pipeline: str, steps: list[StepState]) -> None: ...

    def update(self, step: StepState) -> None: ...

    def tick(self) -> None: ...

    def stop(self) -> None: ...


class NullReporter:
    def start(self, run_id, pipeline, steps) -> None:
        pass

    def update(self, step) -> None:
        pass

    def tick(self) -> None:
        pass

    def stop(self) -> None:
        pass


class LineReporter:
    """One line per state change, for logs and pipes."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def start(self, run_id, pipeline, steps) -> None:
        print(f"run {run_id} of {pipeline}: {len(steps)} steps", file=self.stream, flush=True)
        for step in steps:
            if step.done:
                self.update(step)

    def update(self, step: StepState) -> None:
        extra = f" ({step.duration_s:.2f}s)" if step.duration_s is not None else ""
        note = f" — {step.note}" if step.note else ""
        print(f"  {step.name}: {step.display_state}{extra}{note}", file=self.stream, flush=True)

    def tick(self) -> None:
        pass

    def stop(self) -> None:
        pass


class RichReporter:
    """A live table refreshed by the runner's own loop (no background thread)."""

    def __init__(self, console=None):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.steps: list[StepState] = []
        self.live = None
        self.title = ""
        self._last = 0.0

    def start(self, run_id, pipeline, steps) -> None:
        from rich.live import Live

        self.steps = steps
        self.title = f"{pipeline} · run {run_id}"
        self.live = Live(self._table(), console=self.console, auto_refresh=False, transient=False)
        self.live.start()

    def _table(self):
        from rich.table import Table

        table = Table(title=self.title, title_justify="left", expand=False)
        for column in ("step", "state", "time", "cache", "detail"):
            table.add_column(column)
        now = time.monotonic()
        for step in self.steps:
            if step.duration_s is not None:
                elapsed = f"{step.duration_s:.2f}s"
            elif step.started_at is not None:
                elapsed = f"{now - step.started_at:.1f}s"
            else:
                elapsed = ""
            state = step.display_state
            table.add_row(step.name, f"[{_STYLE.get(state, '')}]{state}[/]", elapsed,
                          "hit" if step.cache_hit else "", step.note or "")
        return table

    def update(self, step) -> None:
        self.tick(force=True)

    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.live is not None and (force or now - self._last > 0.1):
            self._last = now
            self.live.update(self._table(), refresh=True)

    def stop(self) -> None:
        if self.live is not None:
            self.live.update(self._table(), refresh=True)
            self.live.stop()
            self.live = None


def default_reporter(json_output: bool = False) -> Reporter:
    if json_output:
        return NullReporter()
    if sys.stderr.isatty():
        return RichReporter()
    return LineReporter()
