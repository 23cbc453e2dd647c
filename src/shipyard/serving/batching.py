"""Adaptive batching: concurrent requests to one version are coalesced into one predict call.

The first waiting request opens a batch; the batch closes when it holds ``max_rows``
rows or ``max_wait_us`` has passed, whichever comes first. Predictions run on one
worker thread so the event loop keeps accepting requests, and each caller gets back
exactly the rows it sent, in order. A batch of at most ``inline_rows`` rows is predicted on the
event loop itself: for a model that answers such a batch in a fraction of a millisecond, handing
it to the thread and back costs more than the prediction (and, at one request at a time, the
thread buys nothing). A batch that fails is predicted again request by
request, so that each caller learns its own outcome, not that of rows it did not send.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd


@dataclass
class _Pending:
    frame: pd.DataFrame
    future: asyncio.Future = field(repr=False)


def _settle(pending: _Pending, *, outputs: dict | None = None, error: Exception | None = None) -> None:
    if pending.future.done():  # its caller went away
        return
    if error is not None:
        pending.future.set_exception(error)
    else:
        pending.future.set_result(outputs)


def _concat(parts: list):
    if isinstance(parts[0], pd.DataFrame):
        return pd.concat(parts, ignore_index=True)
    return type(parts[0]).concat(parts)


class Batcher:
    def __init__(self, predict: Callable[[pd.DataFrame], dict[str, np.ndarray]], *, max_rows: int = 64,
                 max_wait_us: int = 0, on_batch: Callable[[int], None] | None = None, idle_exit_s: float = 60.0,
                 inline_rows: int = 0):
        self.predict = predict
        self.inline_rows = inline_rows
        self.max_rows = max_rows
        self.max_wait_s = max_wait_us / 1e6
        self.on_batch = on_batch
        self.idle_exit_s = idle_exit_s
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")

    @property
    def depth(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def submit(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.get_running_loop().create_task(self._run())
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(frame, future))
        return await future

    async def _collect(self) -> list[_Pending] | None:
        try:
            first = await asyncio.wait_for(self._queue.get(), self.idle_exit_s)
        except asyncio.TimeoutError:
            return None  # idle: end the task, so a version taken out of traffic holds no task; submit restarts it
        batch, rows = [first], len(first.frame)
        deadline = asyncio.get_running_loop().time() + self.max_wait_s
        while rows < self.max_rows:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 and self._queue.empty():
                break
            try:
                item = self._queue.get_nowait() if remaining <= 0 else await asyncio.wait_for(
                    self._queue.get(), remaining)
            except (asyncio.TimeoutError, asyncio.QueueEmpty):
                break
            batch.append(item)
            rows += len(item.frame)
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            if batch is None:
                if self._queue.empty():
                    return
                continue
            frame = batch[0].frame if len(batch) == 1 else _concat([p.frame for p in batch])
            try:
                if len(frame) <= self.inline_rows:
                    outputs = self.predict(frame)
                else:
                    outputs = await loop.run_in_executor(self._pool, self.predict, frame)
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0], error=exc)
                else:  # one caller's rows must not fail the others': each request again, alone
                    for pending in batch:
                        await self._predict_alone(pending)
                continue
            if self.on_batch is not None:
                self.on_batch(len(frame))
            start = 0
            for pending in batch:
                stop = start + len(pending.frame)
                _settle(pending, outputs={name: values[start:stop] for name, values in outputs.items()})
                start = stop

    async def _predict_alone(self, pending: _Pending) -> None:
        try:
            outputs = await asyncio.get_running_loop().run_in_executor(self._pool, self.predict, pending.frame)
        except Exception as exc:
            _settle(pending, error=exc)
            return
        if self.on_batch is not None:
            self.on_batch(len(pending.frame))
        _settle(pending, outputs=outputs)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

