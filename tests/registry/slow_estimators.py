"""Estimators that are slow for real: one sleeps in predict, one computes for its whole delay."""

import time

import numpy as np


class SleepingEstimator:
    """Waits on something outside the process (a remote feature store, say) for ``delay_s`` per call."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def predict(self, frame):
        time.sleep(self.delay_s)
        return np.zeros(len(frame))


class SpinningEstimator:
    """Computes for ``cpu_s`` seconds of its own CPU time per call, however long other processes hold the CPU."""

    def __init__(self, cpu_s: float) -> None:
        self.cpu_s = cpu_s

    def predict(self, frame):
        until = time.thread_time() + self.cpu_s
        while time.thread_time() < until:
            pass
        return np.zeros(len(frame))
