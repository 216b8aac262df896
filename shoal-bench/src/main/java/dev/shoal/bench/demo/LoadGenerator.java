package dev.shoal.bench.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.bench.KServeClient;
import dev.shoal.bench.Percentiles;
import dev.shoal.bench.pipeline.ModelAgreement;
import dev.shoal.model.TensorData;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The demo's load: a fixed number of client threads, each sending the next request as soon as its
 * previous one is answered, through the KServe v2 REST API; every answer is checked against the
 * single-machine model's. Prints progress every few seconds.
 */
final class LoadGenerator {
  private static final long PROGRESS_SECONDS = 3;

  private final KServeClient client;
  private final int concurrency;
  private final PrintStream log;

  LoadGenerator(KServeClient client, int concurrency, PrintStream log) {
    this.client = client;
    this.concurrency = concurrency;
    this.log = log;
  }

  /** The answers of one pass over the requests. */
  static final class Pass {
    final int[] predicted;
    final double[] latencyMs;
    private int failed;
    /** Answers that differ from the single-machine model's (beyond rounding). */
    private int disagreeing;
    private double maxAbsDifference;
    private double seconds;
    private String firstError;

    Pass(int n) {
      predicted = new int[n];
      Arrays.fill(predicted, -1);
      latencyMs = new double[n];
    }

    int failed() {
      return failed;
    }

    double throughput() {
      return (predicted.length - failed) / seconds;
    }

    double accuracy(long[] labels) {
      int correct = 0;
      for (int i = 0; i < predicted.length; i++) {
        if (predicted[i] == labels[i]) {
          correct++;
        }
      }
      return 100.0 * correct / predicted.length;
    }

    private double latencyPercentile(double q) {
      return Percentiles.nearestRank(Arrays.stream(latencyMs).filter(v -> v > 0).sorted().toArray(), q);
    }

    void print(PrintStream log, long[] labels) {
      log.printf(Locale.ROOT, "  answered %d/%d (%d failed%s), accuracy %.1f%%, %.1f inferences/s, latency p50 %.1f ms"
              + " p99 %.1f ms%n", predicted.length - failed, predicted.length, failed,
          firstError == null ? "" : ": " + firstError, accuracy(labels), throughput(),
          latencyPercentile(0.5), latencyPercentile(0.99));
      log.printf(Locale.ROOT, "  answers equal to the single-machine model's: %d/%d (largest |difference| %.2g)%n",
          predicted.length - failed - disagreeing, predicted.length, maxAbsDifference);
    }

    ObjectNode json(ObjectMapper json, long[] labels) {
      ObjectNode o = json.createObjectNode();
      o.put("requests", predicted.length).put("answered", predicted.length - failed).put("failed", failed)
          .put("firstError", firstError).put("accuracyPercent", accuracy(labels)).put("seconds", seconds)
          .put("measuredPerSecond", throughput()).put("p50Ms", latencyPercentile(0.5))
          .put("p99Ms", latencyPercentile(0.99))
          .put("disagreeingWithSingleMachine", disagreeing).put("maxAbsDifference", maxAbsDifference);
      return o;
    }

    private synchronized void answered(int i, KServeClient.Answer a, TensorData expected, String output) {
      if (!a.ok()) {
        failed++;
        firstError = firstError == null ? a.error() : firstError;
        return;
      }
      TensorData got;
      try {
        got = a.output(output);
      } catch (RuntimeException e) {
        failed++;
        firstError = firstError == null ? e.getMessage() : firstError;
        return;
      }
      latencyMs[i] = a.millis();
      predicted[i] = a.predictedClass();
      maxAbsDifference = Math.max(maxAbsDifference, ModelAgreement.maxAbsDifference(got, expected));
      if (!ModelAgreement.agrees(got, expected)) {
        disagreeing++;
      }
    }
  }

  /**
   * Sends every request once, {@code concurrency} at a time, and compares each answer's {@code
   * output} with {@code expected}; {@code onAnswer} gets the count of answers so far after each.
   */
  Pass send(String label, List<TensorData> requests, List<TensorData> expected, String output, IntConsumer onAnswer) {
    int n = requests.size();
    Pass pass = new Pass(n);
    AtomicInteger next = new AtomicInteger();
    AtomicInteger answered = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
    ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor();
    long t0 = System.nanoTime();
    progress.scheduleAtFixedRate(() -> log.printf(Locale.ROOT, "  [%s] %d/%d answered, %.1f s%n", label,
        answered.get(), n, (System.nanoTime() - t0) / 1e9), PROGRESS_SECONDS, PROGRESS_SECONDS, TimeUnit.SECONDS);
    try {
      List<CompletableFuture<Void>> clients = new ArrayList<>();
      for (int c = 0; c < concurrency; c++) {
        clients.add(CompletableFuture.runAsync(() -> {
          for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
            pass.answered(i, client.infer(requests.get(i)), expected.get(i), output);
            onAnswer.accept(answered.incrementAndGet());
          }
        }, pool));
      }
      CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).join();
    } finally {
      progress.shutdownNow();
      pool.shutdownNow();
    }
    pass.seconds = (System.nanoTime() - t0) / 1e9;
    return pass;
  }
}
