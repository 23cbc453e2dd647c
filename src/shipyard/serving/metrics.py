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
        self.slo_rollbacks = Counter("shipyard_slo_watch_rollbacks_total", "Stable versions this gateway rolled "
                                     "back for breaching their service levels across the fleet.", ("model",),
                                     registry=self.registry)
        self.slo_pages = Counter("shipyard_slo_watch_pages_total", "Pages this gateway sent for a breaching stable "
                                 "version it could not roll back, by outcome (delivered, failed), and "
                                 "notices that such a breach is over (resolved, resolve_failed).",
                                 ("model", "outcome"), registry=self.registry)
        self.load_failures = Counter("shipyard_version_load_failures_total", "Versions that failed to load or "
                                     "warm up and were kept out of traffic.", ("model", "version"),
                                     registry=self.registry)
        self.loop_failures = Counter("shipyard_background_loop_failures_total", "Failed attempts of the gateway's "
                                     "background loops (following deployments, rollouts, watches, tokens).",
                                     ("loop",), registry=self.registry)
        self.loop_failing = Gauge("shipyard_background_loop_failing", "1 while a background loop's attempts fail "
                                  "(the metadata store unreachable, say), else 0.", ("loop",), registry=self.registry)
        self.shadow_skipped = Counter("shipyard_shadow_skipped_total", "Mirrored requests skipped because the "
                                      "shadow version was backed up.", ("model", "version"), registry=self.registry)

    def watch_live_drift(self, live) -> None:
        self.registry.register(_LiveDriftCollector(live))

    def watch_stable_versions(self, watch) -> None:
        self.registry.register(_StableWatchCollector(watch))

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


class _StableWatchCollector:
    """The stable-version watch's state per model; the fleet's figures come from the gateway holding the watch."""

    def __init__(self, watch):
        self.watch = watch

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from shipyard.serving.stable_watch import STATES

        state = GaugeMetricFamily("shipyard_slo_watch_state", "The stable version's watch, one state set to 1: "
                                  "unwatched (no rollout plan, or a rollout runs), elsewhere (another gateway "
                                  "judges it), not_enough_data, ok or breached.", labels=("model", "state"))
        leader = GaugeMetricFamily("shipyard_slo_watch_leader", "1 when this gateway holds the model's stable watch "
                                   "and judges the fleet's traffic.", labels=("model",))
        requests = GaugeMetricFamily("shipyard_slo_watch_fleet_requests", "Requests to the stable version across "
                                     "the fleet in the watch window (on the watching gateway).",
                                     labels=("model", "version"))
        error_rate = GaugeMetricFamily("shipyard_slo_watch_fleet_error_rate", "The stable version's error rate "
                                       "across the fleet in the watch window.", labels=("model", "version"))
        p99 = GaugeMetricFamily("shipyard_slo_watch_fleet_p99_ms", "The stable version's p99 latency across the "
                                "fleet in the watch window.", labels=("model", "version"))
        gateways = GaugeMetricFamily("shipyard_slo_watch_fleet_gateways", "Gateways whose fresh window the watch "
                                     "added up.", labels=("model", "version"))
        psi = GaugeMetricFamily("shipyard_slo_watch_fleet_psi", "PSI of each input feature of the stable version "
                                "across the fleet in the watch window against its reference profile (for a plan "
                                "with slo.max_psi).", labels=("model", "version", "feature"))
        for model, status in sorted(self.watch.status.items()):
            for name in STATES:
                state.add_metric((model, name), 1.0 if status.state == name else 0.0)
            leader.add_metric((model,), 1.0 if status.leader else 0.0)
            if status.leader and status.fleet:
                labels = (model, status.version)
                requests.add_metric(labels, status.fleet["requests"])
                error_rate.add_metric(labels, status.fleet["error_rate"])
                if status.fleet["p99_ms"] is not None:
                    p99.add_metric(labels, status.fleet["p99_ms"])
                gateways.add_metric(labels, status.gateways)
                for feature, value in sorted(status.psi.items()):
                    psi.add_metric((*labels, feature), value)
        yield from (state, leader, requests, error_rate, p99, gateways, psi)


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
