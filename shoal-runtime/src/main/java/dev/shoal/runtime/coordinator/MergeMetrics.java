package dev.shoal.runtime.coordinator;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** Metrics of the merges (variant and class parallelism), in the default registry. */
final class MergeMetrics {

  static final Counter MEMBER_REPLIES = Counter.builder()
      .name("shoal_ensemble_member_replies_total")
      .help("Replies of ensemble members per request: answered in time, or missing (down, failed, late)")
      .labelNames("ensemble", "member", "outcome")
      .register(PrometheusRegistry.defaultRegistry);

  static final Counter DEGRADED = Counter.builder()
      .name("shoal_ensemble_degraded_total")
      .help("Requests answered from only some of the ensemble's members")
      .labelNames("ensemble")
      .register(PrometheusRegistry.defaultRegistry);

  private MergeMetrics() {}
}
