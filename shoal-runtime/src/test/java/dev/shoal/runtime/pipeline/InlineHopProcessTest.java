package dev.shoal.runtime.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.wire.DataLink;
import dev.shoal.runtime.wire.DataLoop;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.proto.StatusReply;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A short stage computes on the transport thread that read its input and sends from it (the
 * worker's data loop); a link that cannot take a frame at once gets it from a hand-off thread, and
 * a busy stage falls back to its compute thread. Real worker processes on loopback, mutual TLS.
 */
class InlineHopProcessTest {
  private static final int WIDTH = 64;
  private static final int LAYERS = 4;
  private static final Path LOGS = Path.of("target", "inline-hop-test-logs");

  private Path dir;
  private PeerSecurity security;
  private final List<WorkerProcess> processes = new ArrayList<>();
  private final List<WorkerEndpoint> endpoints = new ArrayList<>();
  private OnnxSession whole;

  @BeforeEach
  void startWorkers() throws IOException {
    dir = Files.createTempDirectory("shoal-inline-hop-test");
    Files.createDirectories(LOGS);
    CertificateAuthority.provision(dir, List.of("coordinator"), List.of("w0", "w1"));
    security = PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve("coordinator")));
    for (int i = 0; i < 2; i++) {
      WorkerProcess p = WorkerProcess.start(List.of(), "w" + i, "127.0.0.1:0", 1.0, dir.resolve("w" + i),
          LOGS.resolve("w" + i + ".log"));
      processes.add(p);
      endpoints.add(new WorkerEndpoint(p.name(), p.address()));
    }
    whole = OnnxSession.open(ChainModels.slice(WIDTH, LAYERS, 0, LAYERS - 1), OnnxSession.Options.DEFAULT);
  }

  @AfterEach
  void stopWorkers() throws IOException {
    processes.forEach(WorkerProcess::close);
    whole.close();
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  /** Two stages, on w0 then w1. */
  private PlanBackend twoStages() {
    List<byte[]> stages = List.of(ChainModels.slice(WIDTH, LAYERS, 0, 1), ChainModels.slice(WIDTH, LAYERS, 2, 3));
    return PlanBackend.start(endpoints, List.of(FixedPlacement.chain("chain", stages, List.of("w0", "w1"), "raw",
        new double[2])), security, PlanBackend.Options.DEFAULT);
  }

  private static TensorData input(int i, int batch) {
    Random r = new Random(i);
    float[] v = new float[batch * WIDTH];
    for (int k = 0; k < v.length; k++) {
      v[k] = (float) r.nextGaussian();
    }
    return TensorData.ofFloats("x", new long[] {batch, WIDTH}, v);
  }

  private TensorData answer(PlanBackend b, TensorData x) throws Exception {
    return b.run("chain", Map.of("x", x), Duration.ofSeconds(60)).get(60, TimeUnit.SECONDS).get("y");
  }

  @Test
  void requestsOneAtATimeAreComputedOnTheTransportThreadAndAnswerExactlyLikeTheWholeModel() throws Exception {
    try (PlanBackend b = twoStages()) {
      long epoch = b.epoch();
      // the first frame of a new stream may be read on gRPC's executor while the call starts (it
      // then takes the queue); later ones are read, computed and sent on on the data loop
      TensorData first = input(0, 1);
      assertThat(answer(b, first)).isEqualTo(whole.run(Map.of("x", first)).get("y"));
      List<StatusReply> before = endpoints.stream().map(b::status).toList();
      int n = 40;
      for (int i = 1; i <= n; i++) { // one at a time: each stage is idle when its input comes
        TensorData x = input(i, 1 + i % 3);
        assertThat(answer(b, x)).as("request %d", i).isEqualTo(whole.run(Map.of("x", x)).get("y"));
      }
      if (b.epoch() == epoch) { // a starved host can miss heartbeats and re-plan: counts compare one plan
        for (int w = 0; w < endpoints.size(); w++) {
          StatusReply s = b.status(endpoints.get(w));
          assertThat(s.getComputedInline() - before.get(w).getComputedInline()).as("w%d", w).isEqualTo(n);
          assertThat(s.getFramesOut() - before.get(w).getFramesOut()).as("w%d", w).isEqualTo(n);
        }
      }
    }
  }

  @Test
  void aBurstOfLargeFramesFallsBackToTheComputeThreadAndAnswersEveryRequestOnce() throws Exception {
    try (PlanBackend b = twoStages()) {
      long epoch = b.epoch();
      int n = 64;
      // 64 KiB frames: several arrive in one read of the data loop; after one is sent on, the link
      // is not ready for the next until the loop has flushed it (gRPC's threshold is 32 KiB)
      int batch = 256;
      List<TensorData> inputs = new ArrayList<>();
      List<CompletableFuture<Map<String, TensorData>>> answers = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        inputs.add(input(i, batch));
      }
      for (TensorData x : inputs) {
        answers.add(b.run("chain", Map.of("x", x), Duration.ofSeconds(60)));
      }
      for (int i = 0; i < n; i++) {
        assertThat(answers.get(i).get(60, TimeUnit.SECONDS).get("y")).as("request %d", i)
            .isEqualTo(whole.run(Map.of("x", inputs.get(i))).get("y"));
      }
      if (b.epoch() == epoch) {
        StatusReply w0 = b.status(endpoints.get(0));
        StatusReply w1 = b.status(endpoints.get(1));
        assertThat(w0.getFramesIn()).isEqualTo(n);
        assertThat(w0.getFramesOut()).isEqualTo(n); // each sent on exactly once, inline or not
        assertThat(w1.getFramesOut()).isEqualTo(n);
        assertThat(w0.getSendsHandedOff()).isGreaterThanOrEqualTo(1);
        // while a handed-off frame is on its way the stage is busy: later requests took its queue
        assertThat(w0.getComputedInline()).isLessThan(n);
      }
    }
  }

  /**
   * A frame that arrives after its request was cancelled is dropped, and the stream it came on
   * reads on: the next frame on it is computed and sent on (it used to stall the stream).
   */
  @Test
  void aFrameOfACancelledRequestIsDroppedAndItsStreamReadsOn() throws Exception {
    try (PlanBackend b = twoStages()) {
      long epoch = b.epoch();
      WorkerEndpoint first = endpoints.get(0);
      long outBefore = b.status(first).getFramesOut();
      long cancelledBefore = b.status(first).getFramesCancelled();
      try (DataLoop loop = new DataLoop("test-data-loop", 0);
          DataLink s = DataLink.push(first.name(), b.dataAddress(first), security, Frames.DEFAULT_MAX_FRAME_BYTES,
              loop, new DataLink.Listener() {})) {
        long deadline = (System.currentTimeMillis() + 60_000) * 1000;
        s.send(Frames.cancel(2_000_001, epoch, deadline, "test"), 5_000);
        s.send(Frames.encode(2_000_001, epoch, "s0", "", deadline, List.of(input(1, 1)), TensorCodec.parse("raw")), 5_000);
        s.send(Frames.encode(2_000_002, epoch, "s0", "", deadline, List.of(input(2, 1)), TensorCodec.parse("raw")), 5_000);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (b.status(first).getFramesOut() == outBefore && System.nanoTime() < until) {
          Thread.sleep(20);
        }
      }
      if (b.epoch() == epoch) {
        StatusReply after = b.status(first);
        assertThat(after.getFramesCancelled() - cancelledBefore).isEqualTo(1); // 2000001, dropped
        assertThat(after.getFramesOut() - outBefore).isEqualTo(1); // 2000002, read after it and sent on
      }
    }
  }
}
