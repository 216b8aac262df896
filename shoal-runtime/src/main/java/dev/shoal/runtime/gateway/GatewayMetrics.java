package dev.shoal.runtime.gateway;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The gateway's Prometheus metrics, registered once in the default registry (where the other
 * components register theirs), shared by every gateway in the process.
 */
final class GatewayMetrics {

  private static GatewayMetrics shared;

  final Counter requests;
  final Histogram latency;
  final Gauge inFlight;

  private GatewayMetrics(PrometheusRegistry registry) {
    requests = Counter.builder()
        .name("shoal_gateway_requests_total")
        .help("Inference requests answered by the gateway, by model, protocol and outcome")
        .labelNames("model", "protocol", "outcome")
        .register(registry);
    latency = Histogram.builder()
        .name("shoal_gateway_request_duration_seconds")
        .help("Inference request time at the gateway, from request read to response ready")
        .labelNames("model", "protocol")
        .classicOnly()
        .classicUpperBounds(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30)
        .register(registry);
    inFlight = Gauge.builder()
        .name("shoal_gateway_requests_in_flight")
        .help("Inference requests the gateway is working on")
        .register(registry);
  }

  static synchronized GatewayMetrics shared() {
    if (shared == null) {
      shared = new GatewayMetrics(PrometheusRegistry.defaultRegistry);
    }
    return shared;
  }
}
