package dev.shoal.runtime.gateway;

import java.time.Duration;

/**
 * Limits of the inference API.
 *
 * @param maxRequestBytes largest request body (HTTP) or message (gRPC) accepted; larger gets 413 /
 *     RESOURCE_EXHAUSTED
 * @param httpThreads threads that run HTTP requests (each waits on its inference)
 * @param httpQueue HTTP requests that may wait for a thread; beyond it the accepting thread runs the
 *     request itself, which stops it accepting more (back-pressure through the TCP backlog)
 * @param requestTimeout longest wait for a backend's answer before 504 / DEADLINE_EXCEEDED
 */
public record GatewayOptions(long maxRequestBytes, int httpThreads, int httpQueue, Duration requestTimeout) {

  public GatewayOptions {
    if (maxRequestBytes < 1024 || maxRequestBytes > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("maxRequestBytes must be in [1024, 2^31-9], got " + maxRequestBytes);
    }
    if (httpThreads < 1 || httpQueue < 1) {
      throw new IllegalArgumentException("httpThreads and httpQueue must be >= 1");
    }
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw new IllegalArgumentException("requestTimeout must be positive, got " + requestTimeout);
    }
  }

  public static GatewayOptions defaults() {
    return new GatewayOptions(16L << 20, 16, 256, Duration.ofSeconds(30));
  }

  public GatewayOptions withMaxRequestBytes(long bytes) {
    return new GatewayOptions(bytes, httpThreads, httpQueue, requestTimeout);
  }

  public GatewayOptions withRequestTimeout(Duration timeout) {
    return new GatewayOptions(maxRequestBytes, httpThreads, httpQueue, timeout);
  }
}
