package dev.shoal.runtime.pipeline;

import java.time.Duration;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.FixedStagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.wire.FrameStream;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.HeartbeatRequest;
import dev.shoal.runtime.wire.proto.StatusRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import dev.shoal.runtime.worker.WorkerProcess;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The pipeline across real worker processes on loopback: outputs equal the whole model's, bad
 * frames and strangers are refused, and a SIGKILLed worker loses no request.
 */
class PipelineProcessTest {
  private static final int WIDTH = 64;
  private static final int LAYERS = 4;
  private static final ServedModel MODEL = new ServedModel("chain", "1", "onnxruntime_onnx",
      List.of(new TensorSpec("x", DType.FLOAT, new long[] {-1, WIDTH})),
      List.of(new TensorSpec("y", DType.FLOAT, new long[] {-1, WIDTH})));

  private static final Path LOGS = Path.of("target", "pipeline-test-logs");
  private static Path dir;
  private static PeerSecurity security;
  private static final List<WorkerProcess> processes = new ArrayList<>();
  private static final List<WorkerEndpoint> endpoints = new ArrayList<>();
  private static OnnxSession whole;

  @BeforeAll
  static void startWorkers() throws IOException {
    dir = Files.createTempDirectory("shoal-pipeline-test");
    Files.createDirectories(LOGS);
    CertificateAuthority.provision(dir, List.of("coordinator"), List.of("w0", "w1", "w2"));
    security = PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve("coordinator")));
    for (int i = 0; i < 3; i++) {
      WorkerProcess p = WorkerProcess.start(List.of(), "w" + i, "127.0.0.1:0", 1.0, dir.resolve("w" + i),
          LOGS.resolve("w" + i + ".log"));
      processes.add(p);
      endpoints.add(new WorkerEndpoint(p.name(), p.address()));
    }
    whole = OnnxSession.open(ChainModels.slice(WIDTH, LAYERS, 0, LAYERS - 1), OnnxSession.Options.DEFAULT);
  }

  @AfterAll
  static void stopWorkers() throws IOException {
    for (WorkerProcess p : processes) {
      p.close();
    }
    if (whole != null) {
      whole.close();
    }
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  private static FixedStagePlanner split(TensorCodec codec, int... lastLayerOfStage) {
    List<byte[]> stages = new ArrayList<>();
    int first = 0;
    for (int last : lastLayerOfStage) {
      stages.add(ChainModels.slice(WIDTH, LAYERS, first, last));
      first = last + 1;
    }
    return new FixedStagePlanner(stages, codec);
  }

  private static TensorData input(int i) {
    Random r = new Random(i);
    int batch = 1 + i % 3;
    float[] v = new float[batch * WIDTH];
    for (int k = 0; k < v.length; k++) {
      v[k] = (float) r.nextGaussian();
    }
    return TensorData.ofFloats("x", new long[] {batch, WIDTH}, v);
  }

  private static TensorData expected(int i) {
    return whole.run(Map.of("x", input(i))).get("y");
  }

  private static List<CompletableFuture<Map<String, TensorData>>> sendAll(PipelineBackend b, int from, int to) {
    List<CompletableFuture<Map<String, TensorData>>> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(b.run("chain", Map.of("x", input(i)), Duration.ofSeconds(60)));
    }
    return out;
  }

  private static void assertAllEqualTheWholeModel(List<CompletableFuture<Map<String, TensorData>>> answers, int from)
      throws Exception {
    for (int i = 0; i < answers.size(); i++) {
      Map<String, TensorData> out = answers.get(i).get(60, TimeUnit.SECONDS);
      assertThat(out.keySet()).containsExactly("y");
      assertThat(out.get("y")).as("request %d", from + i).isEqualTo(expected(from + i));
    }
  }

  @Test
  void chainedStagesAnswerExactlyLikeTheWholeModel() throws Exception {
    try (PipelineBackend b = PipelineBackend.start(MODEL, endpoints, split(TensorCodec.parse("raw"), 1, 3),
        security, PipelineBackend.Options.DEFAULT)) {
      assertThat(b.ready()).isTrue();
      assertThat(b.plan().stages()).hasSize(2);
      long between = b.linkStats().get(1).frames(); // workers count over their whole life
      assertAllEqualTheWholeModel(sendAll(b, 0, 200), 0);
      List<PipelineBackend.LinkStats> links = b.linkStats();
      assertThat(links).extracting(PipelineBackend.LinkStats::from).containsExactly("coordinator", "w0", "w1");
      assertThat(links.get(0).frames()).isEqualTo(200);
      assertThat(links.get(1).frames() - between).isEqualTo(200);
      assertThat(links.get(2).frames()).isEqualTo(200);
    }
    try (PipelineBackend b = PipelineBackend.start(MODEL, endpoints, split(TensorCodec.parse("zstd"), 0, 1, 3),
        security, PipelineBackend.Options.DEFAULT)) {
      assertThat(b.plan().stages()).hasSize(3);
      assertAllEqualTheWholeModel(sendAll(b, 200, 300), 200);
    }
  }

  @Test
  void lossyLinksStayCloseToTheWholeModel() throws Exception {
    try (PipelineBackend b = PipelineBackend.start(MODEL, endpoints, split(TensorCodec.parse("int8"), 1, 3),
        security, PipelineBackend.Options.DEFAULT)) {
      for (int i = 0; i < 20; i++) {
        float[] got = b.run("chain", Map.of("x", input(i)), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS).get("y").floats();
        float[] want = expected(i).floats();
        float scale = 0;
        for (float w : want) {
          scale = Math.max(scale, Math.abs(w));
        }
        for (int k = 0; k < want.length; k++) {
          assertThat(Math.abs(got[k] - want[k])).isLessThan(0.05f * scale);
        }
      }
    }
  }

  @Test
  void badRequestsGetExplicitErrors() throws Exception {
    try (PipelineBackend b = PipelineBackend.start(MODEL, endpoints, split(TensorCodec.parse("raw"), 3),
        security, PipelineBackend.Options.DEFAULT)) {
      assertThatThrownBy(() -> b.run("nope", Map.of("x", input(0)), Duration.ofSeconds(60)).join())
          .hasCauseInstanceOf(InferenceException.class).hasMessageContaining("unknown model 'nope'");
      TensorData wrongWidth = TensorData.ofFloats("x", new long[] {1, 3}, new float[3]);
      assertThatThrownBy(() -> b.run("chain", Map.of("x", wrongWidth), Duration.ofSeconds(60)).join())
          .hasMessageContaining("input 'x' is FLOAT[1, 3]");
      assertThatThrownBy(() -> b.run("chain", Map.of(), Duration.ofSeconds(60)).join()).hasMessageContaining("missing input 'x'");
      assertThat(b.run("chain", Map.of("x", input(5)), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS).get("y")).isEqualTo(expected(5));
    }
  }

  @Test
  void corruptedAndMisaddressedFramesAreRefusedAndTheWorkerKeepsServing() throws Exception {
    try (PipelineBackend b = PipelineBackend.start(MODEL, endpoints, split(TensorCodec.parse("raw"), 1, 3),
        security, PipelineBackend.Options.DEFAULT)) {
      WorkerEndpoint first = b.plan().stages().get(0).worker();
      ManagedChannel ch = GrpcChannels.client(first.name(), first.address(), security, Frames.DEFAULT_MAX_FRAME_BYTES);
      ConcurrentLinkedQueue<String> refusals = new ConcurrentLinkedQueue<>();
      List<String> seenWhileOpen; // closing our own stream reports it as broken: only what came before counts
      try (FrameStream s = new FrameStream(ch, new FrameStream.Listener() {
        @Override
        public void rejected(long requestId, String error) {
          refusals.add(requestId + ": " + error);
        }

        @Override
        public void broken(Throwable cause) {
          refusals.add("broken: " + cause);
        }
      })) {
        Frame good = Frames.encode(1_000_001, b.epoch(), 0, List.of(input(1)), TensorCodec.parse("raw"));
        Frame corrupted = good.toBuilder().setTensors(0, good.getTensors(0).toBuilder()
            .setCrc32C(good.getTensors(0).getCrc32C() ^ 1)).build();
        Frame staleEpoch = good.toBuilder().setRequestId(1_000_002).setPlanEpoch(b.epoch() + 7).build();
        Frame garbageShape = good.toBuilder().setRequestId(1_000_003)
            .setTensors(0, good.getTensors(0).toBuilder().setShape(0, 1L << 40)).build();
        s.send(corrupted, 5_000);
        s.send(staleEpoch, 5_000);
        s.send(garbageShape, 5_000);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (refusals.size() < 3 && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        Thread.sleep(200); // a fourth report (e.g. the worker dropping the stream) would show here
        seenWhileOpen = List.copyOf(refusals);
      } finally {
        ch.shutdownNow();
      }
      assertThat(seenWhileOpen).hasSize(3);
      assertThat(seenWhileOpen).anyMatch(r -> r.startsWith("1000001: ") && r.contains("checksum"));
      assertThat(seenWhileOpen).anyMatch(r -> r.startsWith("1000002: ") && r.contains("epoch"));
      assertThat(seenWhileOpen).anyMatch(r -> r.startsWith("1000003: ") && r.contains("too large"));
      assertAllEqualTheWholeModel(sendAll(b, 0, 20), 0);
      assertThat(b.status(first).getFramesRejected()).isGreaterThanOrEqualTo(1);
    }
  }

  @Test
  void aWorkerKilledMidStreamLosesNoRequestAndARestartedOneRejoins() throws Exception {
    PipelineBackend.Options opts = PipelineBackend.Options.DEFAULT;
    try (PipelineBackend b = PipelineBackend.start(MODEL, endpoints, split(TensorCodec.parse("lz4"), 1, 3), security, opts)) {
      assertThat(b.plan().stages()).extracting(s -> s.worker().name()).containsExactly("w0", "w1");
      List<CompletableFuture<Map<String, TensorData>>> answers = new ArrayList<>();
      int total = 600;
      int killAt = 150;
      for (int i = 0; i < total; i++) {
        answers.add(b.run("chain", Map.of("x", input(i)), Duration.ofSeconds(60)));
        if (i == killAt) {
          answers.get(killAt / 2).get(30, TimeUnit.SECONDS); // the stream is flowing
          processes.get(1).kill();
        }
        if (i % 50 == 0) {
          Thread.sleep(20);
        }
      }
      assertAllEqualTheWholeModel(answers, 0);
      assertThat(b.recoveries()).isNotEmpty();
      PipelineBackend.Recovery r = b.recoveries().get(0);
      assertThat(r.worker()).isEqualTo("w1");
      assertThat(b.plan().stages()).extracting(s -> s.worker().name()).containsExactly("w0", "w2");
      System.out.printf("SIGKILL w1: detected %.3f s after its last heartbeat, recovered in %.3f s, %d replayed%n",
          r.detectionSeconds(), r.recoverySeconds(), r.replayed());

      long epochBefore = b.epoch();
      WorkerProcess restarted = WorkerProcess.start(List.of(), "w1", endpoints.get(1).address(), 1.0, dir.resolve("w1"),
          LOGS.resolve("w1-restarted.log"));
      processes.set(1, restarted);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      // epoch() is 0 while a re-plan is under way (ready() is true then: requests wait for it)
      while (b.epoch() <= epochBefore && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(b.epoch()).isGreaterThan(epochBefore);
      assertThat(b.plan().stages()).extracting(s -> s.worker().name()).containsExactly("w0", "w1");
      assertAllEqualTheWholeModel(sendAll(b, 1000, 1100), 1000);
    }
  }
}
