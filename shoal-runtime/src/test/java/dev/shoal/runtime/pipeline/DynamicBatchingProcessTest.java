package dev.shoal.runtime.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.graph.Batching;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.worker.WorkerProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Dynamic batching at a plan's entry, on a 2-stage pipeline of real worker processes: requests
 * that share a batch get exactly the answers they get alone, a preferred batch size leaves without
 * waiting, a lone request waits the max queue delay, and plans that cannot be batched are refused.
 */
class DynamicBatchingProcessTest {
  private static final int WIDTH = 32;
  private static final int LAYERS = 4;
  private static final Path LOGS = Path.of("target", "batching-test-logs");
  private static Path dir;
  private static PeerSecurity security;
  private static final List<WorkerProcess> processes = new ArrayList<>();
  private static final List<WorkerEndpoint> endpoints = new ArrayList<>();
  private static OnnxSession whole;

  @BeforeAll
  static void startWorkers() throws IOException {
    dir = Files.createTempDirectory("shoal-batching-test");
    Files.createDirectories(LOGS);
    CertificateAuthority.provision(dir, List.of("coordinator"), List.of("b0", "b1"));
    security = PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve("coordinator")));
    for (int i = 0; i < 2; i++) {
      WorkerProcess p = WorkerProcess.start(List.of(), "b" + i, "127.0.0.1:0", 1.0, dir.resolve("b" + i),
          LOGS.resolve("b" + i + ".log"));
      processes.add(p);
      endpoints.add(new WorkerEndpoint(p.name(), p.address()));
    }
    whole = OnnxSession.open(ChainModels.slice(WIDTH, LAYERS, 0, LAYERS - 1), OnnxSession.Options.DEFAULT);
  }

  @AfterAll
  static void stopWorkers() throws IOException {
    processes.forEach(WorkerProcess::close);
    if (whole != null) {
      whole.close();
    }
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  private static PlanBackend start(Batching batching) {
    FixedPlacement chain = FixedPlacement.chain("chain", List.of(ChainModels.slice(WIDTH, LAYERS, 0, 1),
        ChainModels.slice(WIDTH, LAYERS, 2, 3)), List.of("b0", "b1"), "raw", new double[2]);
    PlanBundle b = chain.original();
    PlanBundle batched = b.with(b.plan().withStages(b.plan().stages().stream().map(s -> s.withBatching(batching))
        .toList()));
    return PlanBackend.start(endpoints, List.of(new FixedPlacement(batched)), security, PlanBackend.Options.DEFAULT);
  }

  private static TensorData input(int i, int rows) {
    Random r = new Random(i);
    float[] v = new float[rows * WIDTH];
    for (int k = 0; k < v.length; k++) {
      v[k] = (float) r.nextGaussian();
    }
    return TensorData.ofFloats("x", new long[] {rows, WIDTH}, v);
  }

  private static CompletableFuture<InferenceResult> infer(PlanBackend b, TensorData x) {
    return b.infer(InferenceCall.within("chain", Map.of("x", x), Duration.ofSeconds(60)));
  }

  @Test
  void requestsSharingABatchGetTheAnswersTheyGetAloneAndAPreferredSizeLeavesAtOnce() throws Exception {
    // preferred size 6 (rows), a 60 s delay: only the preferred size can release the batch in time
    try (PlanBackend b = start(new Batching(8, List.of(6), 60_000_000))) {
      int[] rows = {1, 2, 3};
      List<CompletableFuture<InferenceResult>> answers = new ArrayList<>();
      for (int i = 0; i < rows.length; i++) {
        answers.add(infer(b, input(i, rows[i])));
      }
      for (int i = 0; i < rows.length; i++) {
        InferenceResult r = answers.get(i).get(30, TimeUnit.SECONDS);
        TensorData expected = whole.run(Map.of("x", input(i, rows[i]))).get("y");
        TensorData got = r.outputs().get("y");
        assertThat(got.shape()).containsExactly(rows[i], WIDTH);
        float[] e = expected.floats();
        float[] g = got.floats();
        for (int k = 0; k < e.length; k++) {
          assertThat(g[k]).as("request %d value %d", i, k).isCloseTo(e[k], org.assertj.core.data.Offset.offset(1e-5f));
        }
        assertThat(r.parameters()).containsEntry(PlanBackend.PARAM_BATCH, "6");
      }
    }
  }

  @Test
  void aLoneRequestWaitsTheQueueDelayAndOneLargerThanTheMaxRunsAlone() throws Exception {
    try (PlanBackend b = start(new Batching(4, List.of(), 300_000))) {
      infer(b, input(9, 1)).get(30, TimeUnit.SECONDS); // warm the path up
      long t0 = System.nanoTime();
      InferenceResult lone = infer(b, input(10, 1)).get(30, TimeUnit.SECONDS);
      double ms = (System.nanoTime() - t0) / 1e6;
      assertThat(ms).isGreaterThanOrEqualTo(300);
      assertThat(lone.parameters()).doesNotContainKey(PlanBackend.PARAM_BATCH);
      InferenceResult big = infer(b, input(11, 5)).get(30, TimeUnit.SECONDS);
      assertThat(big.outputs().get("y").shape()).containsExactly(5, WIDTH);
      assertThat(big.parameters()).doesNotContainKey(PlanBackend.PARAM_BATCH);
    }
  }

  @Test
  void aPlanWhoseInputHasNoDynamicBatchDimensionIsRefused() {
    Batching batching = new Batching(4, List.of(), 1_000);
    FixedPlacement chain = FixedPlacement.chain("fixed", List.of(ChainModels.sliceWithFixedBatch(WIDTH, LAYERS)),
        List.of("b0"), "raw", new double[1]);
    PlanBundle b = chain.original();
    PlanBundle batched = b.with(b.plan().withStages(b.plan().stages().stream().map(s -> s.withBatching(batching))
        .toList()));
    assertThatThrownBy(() -> PlanBackend.start(endpoints.subList(0, 1), List.of(new FixedPlacement(batched)), security,
        PlanBackend.Options.DEFAULT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("asks for dynamic batching but 'x' has shape [1, 32]");
  }
}
