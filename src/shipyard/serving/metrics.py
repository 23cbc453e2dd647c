"""Prometheus metrics of one gateway process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("model", "version", "arm", "protocol")
        self.requests = Counter("shipyard_requests_total", "Inference requests answered.",
                                (*labels, "code"), registry=self.registry)
        self.errors = Counter("shipyard_request_errors_total", "Inference requests answered with an error.",
                              (*labels, "code"), registry=self.registry)
        self.latency = Histogram("shipyard_request_latency_seconds", "Time to answer an inference request.",
                                 labels, buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.batch_rows = Histogram("shipyard_batch_rows", "Rows per coalesced predict call.", ("model", "version"),
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=self.registry)
        self.queue_depth = Gauge("shipyard_batch_queue_depth", "Requests waiting for a predict call.",
                                 ("model", "version"), registry=self.registry)
        self.rows = Histogram("shipyard_request_rows", "Rows per inference request.", ("model", "version"),
                              buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024), registry=self.registry)
