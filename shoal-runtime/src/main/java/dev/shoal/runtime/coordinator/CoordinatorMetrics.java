package dev.shoal.runtime.coordinator;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;

/**
 * The coordinator's Prometheus metrics, registered once per process in the default registry (the
 * gateway exposes it on /metrics). Every one a backend writes carries its model's name, and the
 * plan's where it concerns one plan: a process may serve several models, each with several plans.
 */
final class CoordinatorMetrics {
  static final Counter REQUESTS = Counter.builder()
      .name("shoal_pipeline_requests")
      .help("Requests the coordinator answered, by model, plan and outcome (ok or the error kind)")
      .labelNames("model", "plan", "outcome")
      .register();
  static final Histogram LATENCY = Histogram.builder()
      .name("shoal_pipeline_request_seconds")
      .help("End-to-end latency, from accepting a request to its answer, by model and plan")
      .labelNames("model", "plan")
      .register();
  static final Counter REPLAYED = Counter.builder()
      .name("shoal_pipeline_replayed_requests")
      .help("Requests re-sent after a re-plan, by model and plan")
      .labelNames("model", "plan")
      .register();
  static final Counter REPLANS = Counter.builder()
      .name("shoal_pipeline_replans")
      .help("Plans deployed (the first one included), by model and plan")
      .labelNames("model", "plan")
      .register();
  static final Gauge IN_FLIGHT = Gauge.builder()
      .name("shoal_pipeline_in_flight")
      .help("Requests accepted and not yet answered, by model")
      .labelNames("model")
      .register();
  static final Gauge WORKER_UP = Gauge.builder()
      .name("shoal_worker_up")
      .help("1 while the worker answers heartbeats, 0 once declared down")
      .labelNames("worker")
      .register();
  static final Gauge DETECTION_SECONDS = Gauge.builder()
      .name("shoal_failure_detection_seconds")
      .help("Last failure: time from the worker's last answered heartbeat to its declared failure, by model")
      .labelNames("model")
      .register();
  static final Gauge RECOVERY_SECONDS = Gauge.builder()
      .name("shoal_failure_recovery_seconds")
      .help("Last failure: time from declared failure to the new plan deployed and replay sent, by model")
      .labelNames("model")
      .register();
  static final Gauge STAGE_COMPUTE_SECONDS = Gauge.builder()
      .name("shoal_stage_compute_seconds")
      .help("Cumulative ONNX Runtime compute time of the worker's stages (before emulated slowdown), by model and worker")
      .labelNames("model", "worker")
      .register();
  static final Gauge STAGE_QUEUE_SECONDS = Gauge.builder()
      .name("shoal_stage_queue_seconds")
      .help("Cumulative time frames waited in the worker's stage queues, by model and worker")
      .labelNames("model", "worker")
      .register();
  static final Gauge LINK_BYTES = Gauge.builder()
      .name("shoal_link_bytes")
      .help("Bytes sent over a link of the active plan (from -> to), cumulative over its workers, by model and plan")
      .labelNames("model", "plan", "link")
      .register();

  private CoordinatorMetrics() {}
}
