package dev.shoal.runtime.security;

import java.time.Duration;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.shoal.model.TensorData;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.coordinator.WorkerLeases;
import dev.shoal.runtime.pipeline.ChainModels;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.wire.Checksums;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.DeployRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import dev.shoal.runtime.worker.WorkerProcess;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 16's points 1 and 2 against real worker processes on loopback: who may call a worker
 * (cluster certificate, right CA, right role, right name) and which coordinator it serves (lease,
 * take-over, the loser not ready and saying why).
 */
class PeerSecurityProcessTest {
  private static final int WIDTH = 16;
  private static final int LAYERS = 4;
  private static final Path LOGS = Path.of("target", "security-test-logs");

  private static Path dir;
  private static final List<WorkerProcess> processes = new ArrayList<>();
  private static final List<WorkerEndpoint> endpoints = new ArrayList<>();
  private static NodeCredentials coordinator;

  @BeforeAll
  static void startWorkers() throws IOException {
    dir = Files.createTempDirectory("shoal-security-test");
    Files.createDirectories(LOGS);
    CertificateAuthority.provision(dir.resolve("cluster"), List.of("coordinator"), List.of("w0", "w1"));
    CertificateAuthority.provision(dir.resolve("other"), List.of("coordinator"), List.of("w0"));
    coordinator = NodeCredentials.load(dir.resolve("cluster").resolve("coordinator"));
    for (int i = 0; i < 2; i++) {
      WorkerProcess p = WorkerProcess.start(List.of(), "w" + i, "127.0.0.1:0", 1.0,
          dir.resolve("cluster").resolve("w" + i), LOGS.resolve("w" + i + ".log"));
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

  private static Status.Code heartbeatOutcome(ManagedChannel ch) {
    return PeerProbes.heartbeat(ch).code();
  }

  private static NodeCredentials credentials(String set, String node) {
    return NodeCredentials.load(dir.resolve(set).resolve(node));
  }

  @Test
  void aCallerWithoutAClusterCertificateIsRefused() {
    String w0 = endpoints.get(0).address();
    assertThat(heartbeatOutcome(PeerProbes.plaintext(w0))).isEqualTo(Status.Code.UNAVAILABLE);
    // TLS that trusts the cluster CA but presents no certificate: the handshake fails
    assertThat(heartbeatOutcome(PeerProbes.withoutCertificate(coordinator, "w0", w0))).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void aCapturedCallReplayedToTheSameOrAnotherWorkerIsRefusedAndNoTensorCrossesInPlaintext() throws Exception {
    PeerSecurity first = PeerSecurity.mutualTls(coordinator);
    try (RecordingProxy tap = new RecordingProxy(endpoints.get(0).address());
        RecordingProxy dataTap = new RecordingProxy(processes.get(0).dataAddress())) {
      // the coordinator reaches w0 through wiretaps that keep what it sends: on the control port
      // (handshake, Deploy) and on the data port (handshake, frames)
      List<WorkerEndpoint> tapped = List.of(new WorkerEndpoint("w0", tap.address(), dataTap.address()),
          endpoints.get(1));
      try (PlanBackend a = PlanBackend.start(tapped, List.of(planner()), first, PlanBackend.Options.DEFAULT)) {
        TensorData x = TensorData.ofFloats("x", new long[] {1, WIDTH}, new float[WIDTH]);
        Map<String, TensorData> want = a.run("chain", Map.of("x", x), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS);
        float[] marked = new float[WIDTH];
        for (int i = 0; i < WIDTH; i++) {
          marked[i] = 1000.5f + i;
        }
        TensorData probe = TensorData.ofFloats("x", new long[] {1, WIDTH}, marked);
        for (int i = 0; i < 20; i++) {
          a.run("chain", Map.of("x", probe), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS);
        }
        // in the clear, a frame carries the tensor's bytes as they are (raw codec): only TLS hides them
        assertThat(indexOf(Frames.encode(1, 1, "s0", "", 0, List.of(probe), TensorCodec.parse("raw")).toByteArray(),
            probe.data())).isNotNegative();
        byte[] captured = tap.largestCapture();
        assertThat(captured.length).as("the capture holds the deployed stage").isGreaterThan(
            ChainModels.slice(WIDTH, LAYERS, 0, 1).length);
        byte[] data = dataTap.largestCapture();
        assertThat(data.length).as("the data capture holds the 20 requests").isGreaterThan(20 * probe.data().length);
        assertThat(indexOf(data, probe.data())).as("the request's tensor in the clear on the data port").isEqualTo(-1);
        assertThat(indexOf(captured, probe.data())).as("the request's tensor in the clear on the control port")
            .isEqualTo(-1);
        List<String> before0 = a.status(tapped.get(0)).getStagesList();
        List<String> before1 = a.status(tapped.get(1)).getStagesList();
        for (WorkerProcess target : processes) {
          PeerProbes.Replay r = PeerProbes.replay(captured, target.address());
          assertThat(r.closedByWorker()).as("replay to %s: %s", target.name(), r).isTrue();
          PeerProbes.Replay d = PeerProbes.replay(data, target.dataAddress());
          assertThat(d.closedByWorker()).as("data replay to %s: %s", target.name(), d).isTrue();
        }
        assertThat(a.status(tapped.get(0)).getStagesList()).isEqualTo(before0);
        assertThat(a.status(tapped.get(1)).getStagesList()).isEqualTo(before1);
        assertThat(a.run("chain", Map.of("x", x), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS)).isEqualTo(want);
        assertThat(a.recoveries()).isEmpty();
      }
      WorkerLeases.release(tapped, first);
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  void aCertificateFromAnotherCaIsRefused() {
    NodeCredentials foreign = credentials("other", "coordinator");
    // it trusts our CA (so the refusal is the worker's), but its certificate is signed by another
    NodeCredentials impostor = PeerProbes.impostor(foreign, coordinator);
    WorkerEndpoint w0 = endpoints.get(0);
    assertThat(heartbeatOutcome(GrpcChannels.client(w0.name(), w0.address(), PeerSecurity.mutualTls(impostor), 1 << 20)))
        .isEqualTo(Status.Code.UNAVAILABLE);
    // and a node of the other cluster is not trusted by ours either
    assertThat(heartbeatOutcome(GrpcChannels.client(w0.name(), w0.address(), PeerSecurity.mutualTls(foreign), 1 << 20)))
        .isEqualTo(Status.Code.UNAVAILABLE);
    PeerSecurity ours = PeerSecurity.mutualTls(coordinator);
    assertThat(heartbeatOutcome(GrpcChannels.client(w0.name(), w0.address(), ours, 1 << 20)))
        .isEqualTo(Status.Code.OK);
    WorkerLeases.release(endpoints, ours); // the heartbeat took w0's lease: the other tests need it free
  }

  @Test
  void aWorkerCertificateCannotDeployToAnotherWorker() {
    WorkerEndpoint w0 = endpoints.get(0);
    PeerProbes.Outcome forged = PeerProbes.deploy(PeerProbes.as(credentials("cluster", "w1"), w0.name(), w0.address()),
        ChainModels.slice(WIDTH, LAYERS, 0, LAYERS - 1), Long.MAX_VALUE);
    assertThat(forged.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(forged.detail()).contains("worker 'w1' may only push frames");
  }

  @Test
  void aPeerIsKnownByItsCertificateNameNotItsAddress() {
    // dialling w1's address while expecting w0: w1's certificate does not name w0
    assertThat(heartbeatOutcome(GrpcChannels.client("w0", endpoints.get(1).address(),
        PeerSecurity.mutualTls(coordinator), 1 << 20))).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void aSecondCoordinatorIsRefusedNamingTheOwnerAndTakeOverLeavesTheFirstNotReady() throws Exception {
    PeerSecurity first = PeerSecurity.mutualTls(coordinator);
    PeerSecurity second = PeerSecurity.mutualTls(coordinator); // another `shoal serve` with the same files
    PeerSecurity takingOver = PeerSecurity.mutualTls(coordinator, true);
    try (PlanBackend a = PlanBackend.start(endpoints, List.of(planner()), first, PlanBackend.Options.DEFAULT)) {
      TensorData x = TensorData.ofFloats("x", new long[] {1, WIDTH}, new float[WIDTH]);
      Map<String, TensorData> want = a.run("chain", Map.of("x", x), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS);

      assertThatThrownBy(() -> PlanBackend.start(endpoints, List.of(planner()), second, PlanBackend.Options.DEFAULT))
          .isInstanceOf(InferenceException.class)
          .hasMessageContaining("is leased to " + first.session().holder());
      assertThat(a.ready()).isTrue();
      assertThat(a.run("chain", Map.of("x", x), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS)).isEqualTo(want);

      // only the holder deploys, and not even it out of range
      WorkerEndpoint w0 = endpoints.get(0);
      ManagedChannel holder = GrpcChannels.client(w0.name(), w0.address(), first, 1 << 20);
      byte[] model = ChainModels.slice(WIDTH, LAYERS, 0, LAYERS - 1);
      try {
        assertThatThrownBy(() -> WorkerControlGrpc.newBlockingStub(holder).deploy(DeployRequest.newBuilder()
            .setPlanEpoch(Long.MAX_VALUE).setStageId("s0").setOnnxModel(ByteString.copyFrom(model))
            .setSha256Hex(Checksums.sha256Hex(model)).build()))
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
      } finally {
        holder.shutdownNow();
      }

      try (PlanBackend c = PlanBackend.start(endpoints, List.of(planner()), takingOver, PlanBackend.Options.DEFAULT)) {
        assertThat(c.run("chain", Map.of("x", x), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS)).isEqualTo(want);
        waitFor(() -> !a.ready(), 20);
        assertThat(String.join("\n", a.status())).contains("leased to " + takingOver.session().holder());
        assertThat(a.run("chain", Map.of("x", x), Duration.ofSeconds(60))).failsWithin(10, TimeUnit.SECONDS);
      }
      // the taker shuts down and hands the workers back: the first one serves again
      assertThat(WorkerLeases.release(endpoints, takingOver)).isEqualTo(2);
      waitFor(a::ready, 30);
      waitFor(() -> a.plan() != null, 30);
      assertThat(a.run("chain", Map.of("x", x), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS)).isEqualTo(want);
    }
    WorkerLeases.release(endpoints, first);
  }

  private static FixedPlacement planner() {
    return FixedPlacement.chain("chain", List.of(ChainModels.slice(WIDTH, LAYERS, 0, 1),
        ChainModels.slice(WIDTH, LAYERS, 2, 3)), endpoints.stream().map(WorkerEndpoint::name).toList(), "raw",
        new double[2]);
  }

  private static void waitFor(BooleanSupplier condition, int seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(condition.getAsBoolean()).as("condition within %d s", seconds).isTrue();
  }
}
