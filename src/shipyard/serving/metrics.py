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
        self.arm_weight = Gauge("shipyard_arm_weight", "Share of a model's live traffic per arm (shadow: share "
                                "mirrored).", ("model", "version", "arm"), registry=self.registry)
        self.revision = Gauge("shipyard_deployment_revision", "Deployment revision this gateway routes.", ("model",),
                              registry=self.registry)
        self.rollout_percent = Gauge("shipyard_rollout_canary_percent", "Percent of traffic on the rolling "
                                     "version (0 when no rollout is in its canary phase).", ("model",),
                                     registry=self.registry)
        self.rollbacks = Counter("shipyard_rollout_rollbacks_total", "Automatic rollbacks decided by this gateway.",
                                 ("model",), registry=self.registry)
        self.load_failures = Counter("shipyard_version_load_failures_total", "Versions that failed to load or "
                                     "warm up and were kept out of traffic.", ("model", "version"),
                                     registry=self.registry)
        self.shadow_skipped = Counter("shipyard_shadow_skipped_total", "Mirrored requests skipped because the "
                                      "shadow version was backed up.", ("model", "version"), registry=self.registry)

    def watch_live_drift(self, live) -> None:
        self.registry.register(_LiveDriftCollector(live))

    def watch_prediction_log(self, writer) -> None:
        self.registry.register(_PredictionLogCollector(writer))

    def show_route(self, route, previous) -> None:
        if previous is not None:
            for arm, loaded in previous.arms().items():
                try:
                    self.arm_weight.remove(route.model, loaded.version, arm)
                except KeyError:
                    pass
        shares = route.shares()
        for arm, loaded in route.arms().items():
            self.arm_weight.labels(route.model, loaded.version, arm).set(shares[arm])
        self.revision.labels(route.model).set(route.revision)
        self.rollout_percent.labels(route.model).set(route.canary_weight * 100 if route.canary is not None else 0)


class _PredictionLogCollector:
    """Reads the prediction-log writer's counters at scrape time."""

    def __init__(self, writer):
        self.writer = writer

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        yield CounterMetricFamily("shipyard_prediction_log_dropped", "Prediction records dropped because the "
                                  "log writer's queue was full.", value=self.writer.dropped)
        yield CounterMetricFamily("shipyard_prediction_log_rows_written", "Prediction rows written to Parquet.",
                                  value=self.writer.written_rows)
        yield GaugeMetricFamily("shipyard_prediction_log_queue_depth", "Prediction records waiting to be written.",
                                value=self.writer.depth)


class _LiveDriftCollector:
    """Per-feature PSI of recent traffic against the version's reference profile, computed at scrape time."""

    def __init__(self, live):
        self.live = live

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        psi = GaugeMetricFamily("shipyard_feature_psi", "Population stability index of a feature's recent "
                                "traffic against the version's training data (0.1 moderate, 0.25 major shift).",
                                labels=("model", "version", "feature"))
        rows = GaugeMetricFamily("shipyard_feature_drift_rows", "Recent rows behind shipyard_feature_psi.",
                                 labels=("model", "version"))
        seen = {}
        for model, version, feature, value, count in self.live.snapshot():
            psi.add_metric((model, version, feature), value)
            seen[(model, version)] = count
        for (model, version), count in seen.items():
            rows.add_metric((model, version), count)
        yield psi
        yield rows
