package dev.shoal.bench.fluid;

import dev.shoal.bench.Percentiles;
import dev.shoal.model.TensorData;
import dev.shoal.model.family.FluidManifest;
import dev.shoal.model.family.ModelInput;
import dev.shoal.plan.strategy.FluidProducer;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.serving.ServingBackend;
import dev.shoal.train.data.LabelledImages;
import dev.shoal.train.data.Split;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.DoubleUnaryOperator;

/**
 * Sends Fashion-MNIST test images (normalised as the manifest says) to a backend, in process (not
 * the demo's REST {@code LoadGenerator}: runs here are timed, with a kill mid-run or an open-loop
 * arrival ramp), and records every request: when it was sent and finished, whether it was answered, whether the answer
 * was right, and which sub-networks made it.
 */
final class LoadDriver {

  /** One request. Times in seconds from the run's start; {@code subnets} empty when not a Fluid answer. */
  record Outcome(double sent, double done, boolean answered, boolean correct, String subnets) {
    double latency() {
      return done - sent;
    }
  }

  /** An event during a run (a kill), at seconds from its start. */
  interface Event {
    void run() throws IOException;
  }

  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  /** A refused request's slot waits this long before the next request (no busy loop against a stopped backend). */
  private static final long RETRY_MILLIS = 20;

  private final LabelledImages images;
  private final ModelInput input;

  private LoadDriver(LabelledImages images, ModelInput input) {
    this.images = images;
    this.input = input;
  }

  static LoadDriver load(Path data, FluidManifest manifest) throws IOException {
    return new LoadDriver(LabelledImages.load(data, Split.TEST), manifest.input());
  }

  private TensorData image(int i) {
    int k = i % images.count();
    float[] x = new float[images.rows() * images.cols()];
    for (int j = 0; j < x.length; j++) {
      x[j] = input.normalise(images.pixels()[k * x.length + j] & 0xff);
    }
    return TensorData.ofFloats(input.name(), new long[] {1, 1, images.rows(), images.cols()}, x);
  }

  private static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * Keeps {@code window} requests in flight for {@code seconds}; runs {@code event} once at {@code
   * eventAt} seconds (negative: never). Waits for every request sent to finish.
   */
  List<Outcome> closedLoop(ServingBackend backend, int window, double seconds, double eventAt, Event event)
      throws IOException {
    String model = backend.models().get(0).name();
    List<Outcome> out = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<?>> all = new ArrayList<>();
    Semaphore slots = new Semaphore(window);
    ScheduledExecutorService retry = Executors.newSingleThreadScheduledExecutor();
    long start = System.nanoTime();
    boolean fired = eventAt < 0;
    try {
      for (int i = 0; now(start) < seconds; i++) {
        if (!fired && now(start) >= eventAt) {
          event.run();
          fired = true;
        }
        if (!slots.tryAcquire(50, TimeUnit.MILLISECONDS)) {
          i--;
          continue;
        }
        all.add(send(backend, model, i, start, out, ok -> {
          if (ok) {
            slots.release();
          } else {
            retry.schedule(() -> slots.release(), RETRY_MILLIS, TimeUnit.MILLISECONDS);
          }
        }));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).exceptionally(t -> null).join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } finally {
      retry.shutdownNow();
    }
    return sorted(out);
  }

  /**
   * Open loop: requests arrive at {@code rate(t)} per second (t in seconds from the start, evenly
   * spaced) for {@code seconds}, whatever the backend does. Waits for every request to finish.
   */
  List<Outcome> openLoop(ServingBackend backend, DoubleUnaryOperator rate, double seconds) throws IOException {
    String model = backend.models().get(0).name();
    List<Outcome> out = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<?>> all = new ArrayList<>();
    long start = System.nanoTime();
    double next = 0;
    for (int i = 0; next < seconds; i++) {
      double wait = next - now(start);
      if (wait > 0) {
        try {
          Thread.sleep((long) (wait * 1000), (int) ((wait * 1e9) % 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        }
      }
      all.add(send(backend, model, i, start, out, ok -> {}));
      next += 1 / Math.max(0.1, rate.applyAsDouble(next));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).exceptionally(t -> null).join();
    return sorted(out);
  }

  private CompletableFuture<?> send(ServingBackend backend, String model, int i, long start, List<Outcome> out,
      Consumer<Boolean> finished) {
    double sent = now(start);
    int label = images.label(i % images.count());
    return backend.infer(InferenceCall.within(model, Map.of(input.name(), image(i)), TIMEOUT))
        .whenComplete((InferenceResult r, Throwable t) -> {
          double done = now(start);
          if (r != null) {
            float[] logits = r.outputs().values().iterator().next().floats();
            out.add(new Outcome(sent, done, true, argmax(logits) == label,
                r.parameters().getOrDefault(FluidProducer.PARAM_SUBNETS, "")));
          } else {
            out.add(new Outcome(sent, done, false, false, ""));
          }
          finished.accept(r != null);
        });
  }

  private static List<Outcome> sorted(List<Outcome> out) {
    List<Outcome> copy = new ArrayList<>(out);
    copy.sort((a, b) -> Double.compare(a.done(), b.done()));
    return copy;
  }

  private static double now(long start) {
    return (System.nanoTime() - start) / 1e9;
  }

  /** Figures over the requests that finished in [from, to) seconds. */
  record Window(int answered, int failed, double throughput, double accuracy, double p50Millis, double p99Millis) {
    static Window of(List<Outcome> outcomes, double from, double to) {
      List<Outcome> in = outcomes.stream().filter(o -> o.done() >= from && o.done() < to).toList();
      List<Outcome> ok = in.stream().filter(Outcome::answered).toList();
      double[] lat = ok.stream().mapToDouble(o -> o.latency() * 1e3).sorted().toArray();
      return new Window(ok.size(), in.size() - ok.size(), ok.size() / Math.max(1e-9, to - from),
          ok.isEmpty() ? Double.NaN : ok.stream().filter(Outcome::correct).count() / (double) ok.size(),
          Percentiles.nearestRank(lat, 0.5), Percentiles.nearestRank(lat, 0.99));
    }
  }

  /** The sub-network sets that answered, with counts, e.g. {@code 1,2:40 1:12}. */
  static String subnets(List<Outcome> outcomes) {
    Map<String, Long> counts = new TreeMap<>();
    outcomes.stream().filter(Outcome::answered).forEach(o -> counts.merge(o.subnets(), 1L, Long::sum));
    return String.join(" ", counts.entrySet().stream().map(e -> (e.getKey().isEmpty() ? "-" : e.getKey()) + ":"
        + e.getValue()).toList());
  }
}
