package dev.shoal.runtime.gateway;

import java.time.Duration;

/**
 * Limits of the inference API. Every one of them bounds what a client can make the gateway hold:
 * a connection, a body, a decoded tensor, a thread's time.
 *
 * @param maxRequestBytes largest request body (HTTP) or message (gRPC) accepted, and largest sum of
 *     decoded input tensors of one request; larger gets 413 / RESOURCE_EXHAUSTED
 * @param requestTimeout longest wait for a backend's answer before 504 / DEADLINE_EXCEEDED; the
 *     backend's work is cancelled then
 * @param readTimeout longest time a client may take to send one whole request (head and body) once
 *     its first byte arrived; a slower client is disconnected (slow-loris)
 * @param idleTimeout longest time a connection may sit without a request before it is closed
 * @param maxConnections open HTTP connections at most; further ones are closed as they are accepted
 * @param maxBufferedBytes bytes of request bodies and their decoded tensors held at once over all
 *     HTTP requests; a body that does not fit waits (its connection is not read) until others finish
 * @param workerThreads threads that decode requests and encode responses (never wait on a model)
 * @param maxBatch largest leading dimension of an input whose declared first dimension is dynamic
 *     (-1); a larger batch gets 413 before its data is decoded; 0 for no limit
 */
public record GatewayOptions(
    long maxRequestBytes,
    Duration requestTimeout,
    Duration readTimeout,
    Duration idleTimeout,
    int maxConnections,
    long maxBufferedBytes,
    int workerThreads,
    long maxBatch) {

  public GatewayOptions {
    if (maxRequestBytes < 1024 || maxRequestBytes > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("maxRequestBytes must be in [1024, 2^31-9], got " + maxRequestBytes);
    }
    positive(requestTimeout, "requestTimeout");
    positive(readTimeout, "readTimeout");
    positive(idleTimeout, "idleTimeout");
    if (maxConnections < 1 || workerThreads < 1 || maxBatch < 0) {
      throw new IllegalArgumentException("maxConnections and workerThreads must be >= 1, maxBatch >= 0");
    }
    if (maxBufferedBytes < 2 * maxRequestBytes) {
      throw new IllegalArgumentException("maxBufferedBytes (" + maxBufferedBytes
          + ") must hold at least one largest request and its decoded tensors (2 x " + maxRequestBytes + ")");
    }
  }

  private static void positive(Duration d, String name) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
  }

  /**
   * 16 MiB requests, 30 s to answer, 10 s to send a request, 60 s idle, 1024 connections, and
   * request buffers of a third of the heap (at least two largest requests).
   */
  public static GatewayOptions defaults() {
    long maxRequest = 16L << 20;
    return new GatewayOptions(maxRequest, Duration.ofSeconds(30), Duration.ofSeconds(10), Duration.ofSeconds(60),
        1024, bufferedBytesFor(maxRequest), Math.max(2, Runtime.getRuntime().availableProcessors()), 0);
  }

  private static long bufferedBytesFor(long maxRequest) {
    return Math.max(2 * maxRequest, Math.min(1L << 30, Runtime.getRuntime().maxMemory() / 3));
  }

  public GatewayOptions withMaxRequestBytes(long bytes) {
    return new GatewayOptions(bytes, requestTimeout, readTimeout, idleTimeout, maxConnections,
        Math.max(maxBufferedBytes, 2 * bytes), workerThreads, maxBatch);
  }

  public GatewayOptions withRequestTimeout(Duration timeout) {
    return new GatewayOptions(maxRequestBytes, timeout, readTimeout, idleTimeout, maxConnections, maxBufferedBytes,
        workerThreads, maxBatch);
  }

  public GatewayOptions withReadTimeouts(Duration read, Duration idle) {
    return new GatewayOptions(maxRequestBytes, requestTimeout, read, idle, maxConnections, maxBufferedBytes,
        workerThreads, maxBatch);
  }

  public GatewayOptions withMaxConnections(int connections) {
    return new GatewayOptions(maxRequestBytes, requestTimeout, readTimeout, idleTimeout, connections,
        maxBufferedBytes, workerThreads, maxBatch);
  }

  public GatewayOptions withMaxBufferedBytes(long bytes) {
    return new GatewayOptions(maxRequestBytes, requestTimeout, readTimeout, idleTimeout, maxConnections, bytes,
        workerThreads, maxBatch);
  }

  public GatewayOptions withMaxBatch(long batch) {
    return new GatewayOptions(maxRequestBytes, requestTimeout, readTimeout, idleTimeout, maxConnections,
        maxBufferedBytes, workerThreads, batch);
  }
}
