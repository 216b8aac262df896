package dev.shoal.bench.dataplane;

import dev.shoal.bench.KServeClient;
import dev.shoal.bench.Percentiles;
import dev.shoal.model.TensorData;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * Closed-loop load over REST: {@code connections} clients, each sending its next request as soon as
 * the previous one is answered (so that many requests are in flight), for a fixed time. Every answer
 * is checked against the expected output of its input.
 */
final class Load {

  /**
   * What a run did: answers, failures (with the first few errors), wrong answers, answers per
   * plan (the {@code shoal.plan} response parameter), latency, throughput, and the CPU time the
   * clients themselves used (their threads, so it can be told apart from the server's).
   */
  record Result(int answered, int failed, int wrong, double seconds, Percentiles latencyMs,
      Map<String, Integer> byPlan, List<String> errors, double clientCpuSeconds) {
    double perSecond() {
      return answered / seconds;
    }
  }

  /** An input and the output the whole model gives for it (in process). */
  record Sample(TensorData input, TensorData expected) {}

  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  private Load() {}

  /** Runs the load until {@code seconds} have passed. */
  static Result run(int port, String model, List<Sample> samples, int connections, double seconds) {
    long end = System.nanoTime() + (long) (seconds * 1e9);
    return run(port, model, samples, connections, () -> System.nanoTime() < end);
  }

  /** Runs the load while {@code more} says so. */
  static Result run(int port, String model, List<Sample> samples, int connections, BooleanSupplier more) {
    AtomicInteger answered = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicInteger wrong = new AtomicInteger();
    Map<String, Integer> byPlan = new ConcurrentHashMap<>();
    List<String> errors = new CopyOnWriteArrayList<>();
    List<List<Double>> latencies = new ArrayList<>();
    AtomicLong clientCpuNanos = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    // one connection per thread: each takes its own from the client's idle ones
    KServeClient client = new KServeClient(port, model, KServeClient.Encoding.BINARY);
    long start = System.nanoTime();
    for (int c = 0; c < connections; c++) {
      int first = c;
      List<Double> ms = new ArrayList<>(); // this thread's own until it is joined
      latencies.add(ms);
      Thread t = new Thread(() -> {
        int k = 0;
        try {
          while (more.getAsBoolean()) {
            Sample s = samples.get((first + k) % samples.size());
            long t0 = System.nanoTime();
            KServeClient.Answer r = client.infer(s.input());
            if (!r.ok()) {
              failed.incrementAndGet();
              if (errors.size() < 5) {
                errors.add(r.error());
              }
              continue;
            }
            ms.add((System.nanoTime() - t0) / 1e6);
            k++;
            answered.incrementAndGet();
            byPlan.merge(r.parameters().getOrDefault("shoal.plan", "?"), 1, Integer::sum);
            if (!close(r.outputs().get(s.expected().name()), s.expected())) {
              wrong.incrementAndGet();
            }
          }
        } finally {
          clientCpuNanos.addAndGet(CPU.getCurrentThreadCpuTime());
        }
      }, "load-" + c);
      t.start();
      threads.add(t);
    }
    try {
      for (Thread t : threads) {
        t.join();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while the load ran", e);
    } finally {
      client.close();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    List<Double> all = new ArrayList<>();
    latencies.forEach(all::addAll);
    Percentiles p = all.isEmpty() ? new Percentiles(Double.NaN, Double.NaN, 0)
        : Percentiles.of(all.stream().mapToDouble(Double::doubleValue).toArray());
    return new Result(answered.get(), failed.get(), wrong.get(), seconds, p, Map.copyOf(byPlan), List.copyOf(errors),
        clientCpuNanos.get() / 1e9);
  }

  /**
   * Whether an answer matches the expected output: same shape, every value within 1e-4 of the
   * largest expected magnitude (a batch may run other kernels than one sample alone).
   */
  static boolean close(TensorData got, TensorData expected) {
    if (got == null || !java.util.Arrays.equals(got.shape(), expected.shape())) {
      return false;
    }
    float[] g = got.floats();
    float[] e = expected.floats();
    float scale = 0;
    for (float v : e) {
      scale = Math.max(scale, Math.abs(v));
    }
    float tolerance = 1e-4f * Math.max(1f, scale);
    for (int i = 0; i < e.length; i++) {
      if (!(Math.abs(g[i] - e[i]) <= tolerance)) {
        return false;
      }
    }
    return true;
  }
}
