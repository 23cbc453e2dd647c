"""The scheduling plane's units and priority classes, which a step's ``resources`` are written in.

They live here, below both planes, so that reading a spec does not load the scheduler.
"""

from __future__ import annotations

GPU_MILLI = 1000
"""A whole GPU in milli-GPUs, the unit a share of one GPU is counted in."""
MAX_GPUS_PER_NODE = 8

SERVING = "serving"
BATCH_HIGH = "batch-high"
BATCH = "batch"
BATCH_LOW = "batch-low"
PRIORITY_CLASSES = {SERVING: 1000, BATCH_HIGH: 500, BATCH: 100, BATCH_LOW: 0}
"""Priority classes and their priorities: higher runs first and may preempt lower (see ``preemption``)."""
