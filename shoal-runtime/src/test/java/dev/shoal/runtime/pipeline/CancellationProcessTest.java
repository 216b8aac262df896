package dev.shoal.runtime.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.TensorData;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.wire.proto.StatusReply;
import dev.shoal.runtime.worker.WorkerProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cancellation across real worker processes: a two-stage chain whose first stage runs on a worker
 * emulating a slow device (each frame held {@value #HOLD_SECONDS} s), the second on a fast one.
 * Work a request no longer needs (its caller gave up, its deadline passed) is dropped by the
 * workers, queued or running, and never sent on to the next stage.
 */
class CancellationProcessTest {
  private static final int WIDTH = 32;
  private static final int LAYERS = 2;
  private static final double SLOWDOWN = 200;
  private static final double HOLD_SECONDS = 3.0;
  private static final Path LOGS = Path.of("target", "cancellation-test-logs");

  private static Path dir;
  private static PeerSecurity security;
  private static final List<WorkerProcess> processes = new ArrayList<>();
  private static final List<WorkerEndpoint> endpoints = new ArrayList<>();

  @BeforeAll
  static void startWorkers() throws IOException {
    dir = Files.createTempDirectory("shoal-cancel-test");
    Files.createDirectories(LOGS);
    CertificateAuthority.provision(dir, List.of("coordinator"), List.of("slow", "fast"));
    security = PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve("coordinator")));
    for (String name : List.of("slow", "fast")) {
      WorkerProcess p = WorkerProcess.start(List.of(), name, "127.0.0.1:0", name.equals("slow") ? SLOWDOWN : 1.0,
          dir.resolve(name), LOGS.resolve(name + ".log"));
      processes.add(p);
      endpoints.add(new WorkerEndpoint(p.name(), p.address()));
    }
  }

  @AfterAll
  static void stopWorkers() throws IOException {
    processes.forEach(WorkerProcess::close);
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  /** Stage s0 (layer 0) held {@value #HOLD_SECONDS} s on "slow", stage s1 (layer 1) on "fast". */
  private static PlanBackend start() {
    FixedPlacement chain = FixedPlacement.chain("chain", List.of(ChainModels.slice(WIDTH, LAYERS, 0, 0),
        ChainModels.slice(WIDTH, LAYERS, 1, 1)), List.of("slow", "fast"), "raw",
        new double[] {HOLD_SECONDS / SLOWDOWN, 0});
    return PlanBackend.start(endpoints, List.of(chain), security, PlanBackend.Options.DEFAULT);
  }

  private static Map<String, TensorData> input(int i) {
    float[] v = new float[WIDTH];
    v[i % WIDTH] = 1f;
    return Map.of("x", TensorData.ofFloats("x", new long[] {1, WIDTH}, v));
  }

  /** The counters of one worker, to compare before and after. */
  private record Counters(long in, long out, long cancelled, long expired, double computeSeconds) {
    static Counters of(PlanBackend b, String worker) {
      StatusReply s = b.status(b.workerOf(worker));
      assertThat(s).as("status of %s", worker).isNotNull();
      return new Counters(s.getFramesIn(), s.getFramesOut(), s.getFramesCancelled(), s.getFramesExpired(),
          s.getComputeSeconds());
    }

    Counters since(Counters before) {
      return new Counters(in - before.in, out - before.out, cancelled - before.cancelled, expired - before.expired,
          computeSeconds - before.computeSeconds);
    }
  }

  private static void await(String what, BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!done.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for %s", what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  @Test
  void cancelledRequestsAreDroppedQueuedAndRunningAndNeverSentOn() throws Exception {
    try (PlanBackend b = start()) {
      Counters slow0 = Counters.of(b, "slow");
      Counters fast0 = Counters.of(b, "fast");
      List<CompletableFuture<InferenceResult>> calls = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        calls.add(b.infer(InferenceCall.within("chain", input(i), Duration.ofSeconds(60))));
      }
      // all four at the slow stage: the first held on its device, three queued behind it
      await("4 frames at the slow stage", () -> Counters.of(b, "slow").since(slow0).in() == 4);
      Thread.sleep(300);
      calls.forEach(c -> c.cancel(true));
      await("4 cancelled at the slow stage", () -> Counters.of(b, "slow").since(slow0).cancelled() == 4);
      Counters atCancel = Counters.of(b, "slow").since(slow0);
      Thread.sleep((long) (HOLD_SECONDS * 1000) + 500); // past the first frame's hold: it would have gone on by now
      Counters slow = Counters.of(b, "slow").since(slow0);
      Counters fast = Counters.of(b, "fast").since(fast0);
      assertThat(slow.cancelled()).isEqualTo(4);
      assertThat(slow.out()).as("frames the slow stage sent on").isZero();
      assertThat(slow.computeSeconds()).as("no compute after the cancel").isEqualTo(atCancel.computeSeconds());
      assertThat(fast.in()).as("frames that reached the second stage").isZero();
      assertThat(b.cancelFrames()).as("one cancel per request and worker").isEqualTo(8);
      assertThat(calls).allMatch(CompletableFuture::isCancelled);
      assertThat(b.duplicateResults()).isZero();

      // the worker keeps serving, its emulated device free again
      InferenceResult r = b.infer(InferenceCall.within("chain", input(9), Duration.ofSeconds(60)))
          .get(30, TimeUnit.SECONDS);
      assertThat(r.outputs()).containsKey("y");
      assertThat(Counters.of(b, "fast").since(fast0).in()).isEqualTo(1);
    }
  }

  @Test
  void workPastTheDeadlineIsCancelledAndNeverSentOn() throws Exception {
    try (PlanBackend b = start()) {
      Counters slow0 = Counters.of(b, "slow");
      Counters fast0 = Counters.of(b, "fast");
      List<CompletableFuture<InferenceResult>> calls = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        calls.add(b.infer(InferenceCall.within("chain", input(i), Duration.ofMillis(1500))));
      }
      for (CompletableFuture<InferenceResult> c : calls) {
        assertThatThrownBy(() -> c.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
            .cause().isInstanceOf(InferenceException.class).hasMessageContaining("no answer by the deadline");
      }
      boolean bothArrived = Counters.of(b, "slow").since(slow0).in() == 2;
      await("the slow stage to drop both", () -> {
        Counters c = Counters.of(b, "slow").since(slow0);
        return c.cancelled() + c.expired() == c.in() && c.in() > 0;
      });
      Thread.sleep((long) (HOLD_SECONDS * 1000));
      Counters slow = Counters.of(b, "slow").since(slow0);
      assertThat(slow.out()).as("frames the slow stage sent on").isZero();
      assertThat(slow.cancelled() + slow.expired()).isEqualTo(slow.in());
      if (bothArrived) { // the first was on the device at the deadline: only the cancel stops it there
        assertThat(slow.cancelled()).isPositive();
      }
      assertThat(Counters.of(b, "fast").since(fast0).in()).as("frames that reached the second stage").isZero();
    }
  }
}
