package dev.shoal.runtime.worker;

import dev.shoal.runtime.security.PeerSecurity;

/**
 * How a worker runs: where it listens (the control port, gRPC, and the data port, framed TCP; port
 * 0 for either: a free one), its name, the emulated slowdown (a worker told it is k
 * times slower holds each frame until k times the stage's compute on the reference host has
 * passed, the planner's profiled time when the deployment gives it, else the stage's warm run
 * here; see {@code StageRunner#emulateSlowDevice}), ONNX Runtime intra-op
 * threads, its input queue capacity (back-pressure beyond it), the frame size limit and how it
 * talks to its peers (mutual TLS with its cluster certificate).
 */
public record WorkerConfig(
    String host,
    int port,
    int dataPort,
    String name,
    double slowdown,
    int intraOpThreads,
    int queueCapacity,
    int maxFrameBytes,
    PeerSecurity security) {

  public static final int DEFAULT_QUEUE_CAPACITY = 32;

  public WorkerConfig {
    if (dataPort < 0 || dataPort > 65535) {
      throw new IllegalArgumentException("data port out of range: " + dataPort);
    }
    if (slowdown < 1.0) {
      throw new IllegalArgumentException("slowdown must be >= 1, got " + slowdown);
    }
    if (intraOpThreads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + intraOpThreads);
    }
    if (queueCapacity < 1) {
      throw new IllegalArgumentException("queue capacity must be >= 1, got " + queueCapacity);
    }
    if (maxFrameBytes < 1024) {
      throw new IllegalArgumentException("max frame bytes must be >= 1024, got " + maxFrameBytes);
    }
  }
}
