package dev.shoal.bench.separable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.bench.BenchCerts;
import dev.shoal.bench.Percentiles;
import dev.shoal.model.TensorData;
import dev.shoal.plan.strategy.WidthParallelProducer;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.train.separable.SegmentChain;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The coordinator side of one width-parallel measurement, as its own process so that it can run
 * in the coordinator's network namespace: serves a separable export on the given workers (device g
 * on worker g), keeps {@code window} one-image requests in flight until {@code requests} are
 * answered, and prints one JSON line ({@code RESULT {...}}) with the steady-state throughput
 * (between 10% and 90% of the answers), latency percentiles, the bytes the workers sent per
 * inference (every frame: chunks to peers, a device's state to its own next segment, partial
 * logits to the coordinator) and how many answers differed from
 * {@link SegmentChain}'s.
 *
 * <p>Arguments: EXPORT_DIR CERTS_DIR REQUESTS WINDOW name=host:port...
 */
public final class WidthParallelProbe {
  private static final int DISTINCT_INPUTS = 8;

  private WidthParallelProbe() {}

  public static void main(String[] args) throws Exception {
    Path export = Path.of(args[0]);
    Path certs = Path.of(args[1]);
    int requests = Integer.parseInt(args[2]);
    int window = Integer.parseInt(args[3]);
    List<WorkerEndpoint> workers = new ArrayList<>();
    for (int i = 4; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      workers.add(new WorkerEndpoint(kv[0], kv[1]));
    }
    List<TensorData> inputs = new ArrayList<>();
    List<float[]> expected = new ArrayList<>();
    try (SegmentChain chain = new SegmentChain(export)) {
      for (int i = 0; i < DISTINCT_INPUTS; i++) {
        Random r = new Random(11 + i);
        float[] x = new float[28 * 28];
        for (int j = 0; j < x.length; j++) {
          x[j] = (float) r.nextGaussian();
        }
        TensorData t = TensorData.ofFloats("input", new long[] {1, 1, 28, 28}, x);
        inputs.add(t);
        expected.add(chain.logits(t));
      }
    }
    WidthParallelProducer producer = new WidthParallelProducer(export, "separable");
    PlanBackend.Options options = new PlanBackend.Options(Math.max(1024, window * 2),
        PlanBackend.Options.DEFAULT.maxFrameBytes());
    try (PlanBackend b = PlanBackend.start(workers, List.of(producer), BenchCerts.coordinator(certs), options)) {
      for (int i = 0; i < Math.min(20, requests); i++) { // warm-up: JIT, sessions, connections
        b.run("separable", Map.of("input", inputs.get(i % DISTINCT_INPUTS)), Duration.ofSeconds(120)).get();
      }
      long bytesBefore = workerBytes(b, workers);
      Semaphore inFlight = new Semaphore(window);
      long[] doneAt = new long[requests];
      double[] latencyMs = new double[requests];
      AtomicInteger done = new AtomicInteger();
      AtomicInteger errors = new AtomicInteger();
      AtomicInteger mismatches = new AtomicInteger();
      List<CompletableFuture<?>> all = new ArrayList<>();
      for (int i = 0; i < requests; i++) {
        inFlight.acquire();
        long t0 = System.nanoTime();
        int which = i % DISTINCT_INPUTS;
        all.add(b.run("separable", Map.of("input", inputs.get(which)), Duration.ofSeconds(120))
            .whenComplete((out, err) -> {
              long now = System.nanoTime();
              int k = done.getAndIncrement();
              doneAt[k] = now;
              latencyMs[k] = (now - t0) / 1e6;
              if (err != null) {
                errors.incrementAndGet();
              } else if (!Arrays.equals(out.get("logits").floats(), expected.get(which))) {
                mismatches.incrementAndGet();
              }
              inFlight.release();
            }));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).exceptionally(e -> null).join();
      long bytes = workerBytes(b, workers) - bytesBefore;
      int lo = requests / 10;
      int hi = requests * 9 / 10;
      Percentiles lat = Percentiles.of(latencyMs);
      ObjectNode r = new ObjectMapper().createObjectNode();
      r.put("completed", requests - errors.get());
      r.put("errors", errors.get());
      r.put("mismatches", mismatches.get());
      r.put("throughput", (hi - lo) / ((doneAt[hi] - doneAt[lo]) / 1e9));
      r.put("p50Ms", lat.p50());
      r.put("p99Ms", lat.p99());
      r.put("workerBytesOutPerInference", (double) bytes / requests);
      System.out.println("RESULT " + r);
    }
    System.exit(0);
  }

  /** Bytes the workers have sent so far: every frame, to peers, to their own next segment and to the coordinator. */
  private static long workerBytes(PlanBackend b, List<WorkerEndpoint> workers) {
    return workers.stream().map(b::status).filter(java.util.Objects::nonNull)
        .mapToLong(dev.shoal.runtime.wire.proto.StatusReply::getBytesOut).sum();
  }
}
