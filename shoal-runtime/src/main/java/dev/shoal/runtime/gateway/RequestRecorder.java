package dev.shoal.runtime.gateway;

import dev.shoal.runtime.serving.InferenceException;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Records each inference request in Prometheus and in the status page's recent window. */
final class RequestRecorder {

  static final String UNKNOWN_MODEL = "(unknown)";

  private final GatewayMetrics metrics = GatewayMetrics.shared();
  private final Map<String, RecentRequests> recent = new ConcurrentHashMap<>();

  long started() {
    metrics.inFlight.inc();
    return System.nanoTime();
  }

  /** @param failure null on success */
  void finished(String model, String protocol, long startNanos, InferenceException failure) {
    long end = System.nanoTime();
    String outcome = failure == null ? "ok" : failure.kind().name().toLowerCase(Locale.ROOT);
    metrics.inFlight.dec();
    metrics.requests.labelValues(model, protocol, outcome).inc();
    metrics.latency.labelValues(model, protocol).observe((end - startNanos) / 1e9);
    recent.computeIfAbsent(model, m -> new RecentRequests()).record(end, end - startNanos, failure == null);
  }

  RecentRequests.Summary recent(String model, long windowNanos) {
    RecentRequests r = recent.get(model);
    return r == null
        ? new RecentRequests.Summary(0, 0, 0, Double.NaN, Double.NaN)
        : r.summary(System.nanoTime(), windowNanos);
  }
}
