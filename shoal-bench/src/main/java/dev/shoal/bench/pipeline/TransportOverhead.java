package dev.shoal.bench.pipeline;

import dev.shoal.bench.Percentiles;
import java.time.Duration;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.bench.BenchCerts;
import dev.shoal.runtime.security.NodeRole;
import dev.shoal.runtime.security.PeerIdentity;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.wire.GrpcChannels.HostPort;
import dev.shoal.runtime.worker.WorkerProcess;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Transport overhead per hop: the round-trip time of one tensor, one request at a time, through
 * (0) a raw TCP socket echo process (the floor), (a) a plain gRPC echo process, (b) a one-stage Shoal pipeline whose stage is an Identity, and
 * (c) a two-stage one. (b) minus (a) is what Shoal adds to two transfers (frames, checksums,
 * TLS, queueing, an ONNX Runtime call); (c) minus (b) is one more worker-to-worker hop. The echo
 * is plaintext; the Shoal paths run mutual TLS, or plaintext on loopback when {@code certs} is
 * null (the TLS-overhead baseline).
 */
public final class TransportOverhead {

  public record Row(String path, int bytes, Percentiles rttMillis) {}

  /**
   * Each size's paths first run interleaved, unmeasured, this long: every process on them is a
   * fresh JVM, and with only 10 warm-up round trips gRPC's own 4 KB echo measured 2.8 ms against
   * 0.25 ms once its code was compiled (docs/runtime.md, "Where a hop's time goes").
   */
  static final Duration WARM_UP = Duration.ofSeconds(3);

  private TransportOverhead() {}

  static byte[] identityModel(String in, String out) {
    GraphBuilder g = new GraphBuilder("identity_" + in + "_" + out);
    g.input(in, DType.FLOAT, GraphBuilder.BATCH);
    g.node("Identity", in).name("identity_" + out).outputs(out).out();
    g.output(out, DType.FLOAT, GraphBuilder.BATCH);
    return g.build().toByteArray();
  }

  /** One way to send a tensor and wait for it to come back. */
  private interface RoundTrip {
    /** Sends {@code x}, waits for the answer, returns the round-trip time in nanoseconds. */
    long once(TensorData x) throws Exception;
  }

  /**
   * Measures the three paths interleaved (echo, 1-stage, 2-stage, echo, ...) so that load from
   * other processes on this host falls on all three alike, rather than on whichever ran when it
   * peaked.
   */
  public static List<Row> run(Path workDir, int[] sizes, int samples, Path certs, PrintStream log) throws Exception {
    PeerSecurity security = certs == null
        ? PeerSecurity.insecurePlaintext(new PeerIdentity(BenchCerts.COORDINATOR, NodeRole.COORDINATOR))
        : BenchCerts.coordinator(certs);
    List<Row> rows = new ArrayList<>();
    List<WorkerProcess> processes = new ArrayList<>();
    PlanBackend one = null;
    PlanBackend two = null;
    ManagedChannel echoChannel = null;
    TcpEcho tcpEcho = null;
    try {
      WorkerProcess tcp = WorkerProcess.startMain(List.of(), "tcp-echo", TcpEchoServer.class.getName(),
          List.of("127.0.0.1"), workDir.resolve("tcp-echo.log"));
      processes.add(tcp);
      tcpEcho = new TcpEcho(HostPort.parse(tcp.address()));
      WorkerProcess echo = WorkerProcess.startMain(List.of(), "echo", EchoServer.class.getName(),
          List.of("127.0.0.1"), workDir.resolve("echo.log"));
      processes.add(echo);
      List<WorkerEndpoint> workers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        WorkerProcess w = WorkerProcess.start(List.of(), "hop" + i, "127.0.0.1:0", 1.0, certs == null ? null : certs.resolve("hop" + i),
            workDir.resolve("hop" + i + ".log"));
        processes.add(w);
        workers.add(new WorkerEndpoint(w.name(), w.address()));
      }
      one = PlanBackend.start(workers.subList(0, 1), List.of(FixedPlacement.chain("identity",
          List.of(identityModel("x", "y")), List.of("hop0"), "raw", new double[1])), security, PlanBackend.Options.DEFAULT);
      two = PlanBackend.start(workers.subList(1, 3), List.of(FixedPlacement.chain("identity",
          List.of(identityModel("x", "y"), identityModel("y", "z")), List.of("hop1", "hop2"), "raw", new double[2])),
          security, PlanBackend.Options.DEFAULT);
      HostPort hp = HostPort.parse(echo.address());
      // replies are taken on the transport thread, as the echo server answers on its own
      echoChannel = NettyChannelBuilder.forAddress(hp.host(), hp.port()).usePlaintext()
          .maxInboundMessageSize(64 << 20).directExecutor().build();
      List<String> names = List.of("tcp-echo", "grpc-echo", "shoal-1-stage", "shoal-2-stage");
      for (int size : sizes) {
        log.printf("  transport: %d bytes, %d round trips per path, interleaved%n", size, samples);
        EchoStream echoStream = new EchoStream(echoChannel);
        List<RoundTrip> paths = List.of(tcpEcho::once, echoStream::once, pipeline(one, size), pipeline(two, size));
        TensorData x = tensor(size, size);
        long warmUntil = System.nanoTime() + WARM_UP.toNanos();
        for (int i = 0; i < 10 || System.nanoTime() < warmUntil; i++) {
          for (RoundTrip p : paths) {
            p.once(x);
          }
        }
        double[][] ms = new double[paths.size()][samples];
        for (int i = 0; i < samples; i++) {
          for (int p = 0; p < paths.size(); p++) {
            ms[p][i] = paths.get(p).once(x) / 1e6;
          }
        }
        echoStream.close();
        for (int p = 0; p < paths.size(); p++) {
          rows.add(new Row(names.get(p), size, Percentiles.of(ms[p])));
        }
      }
    } finally {
      if (tcpEcho != null) {
        tcpEcho.close();
      }
      if (echoChannel != null) {
        echoChannel.shutdownNow();
      }
      if (one != null) {
        one.close();
      }
      if (two != null) {
        two.close();
      }
      processes.forEach(WorkerProcess::close);
    }
    return rows;
  }

  private static TensorData tensor(int bytes, long seed) {
    float[] v = new float[bytes / 4];
    Random r = new Random(seed);
    for (int i = 0; i < v.length; i++) {
      v[i] = r.nextFloat();
    }
    return TensorData.ofFloats("x", new long[] {v.length}, v);
  }

  private static RoundTrip pipeline(PlanBackend b, int size) {
    return x -> {
      long t0 = System.nanoTime();
      Map<String, TensorData> out = b.run("identity", Map.of("x", x), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS);
      long t = System.nanoTime() - t0;
      if (out.values().iterator().next().data().length != size) {
        throw new IllegalStateException("identity pipeline returned the wrong size");
      }
      return t;
    };
  }

  /** One connection to the TCP echo: a length-prefixed message out, the same back. */
  private static final class TcpEcho implements AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    TcpEcho(HostPort at) throws IOException {
      socket = new Socket(at.host(), at.port());
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(30_000);
      in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
      out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
    }

    long once(TensorData x) throws IOException {
      byte[] payload = x.data();
      long t0 = System.nanoTime();
      out.writeInt(payload.length);
      out.write(payload);
      out.flush();
      byte[] back = new byte[in.readInt()];
      in.readFully(back);
      long t = System.nanoTime() - t0;
      if (back.length != payload.length) {
        throw new IllegalStateException("TCP echo returned " + back.length + " bytes for " + payload.length);
      }
      return t;
    }

    @Override
    public void close() {
      try {
        socket.close();
      } catch (IOException e) {
        // closing a loopback socket at the end of the measurement: nothing to recover
      }
    }
  }

  /** One open echo call: each message sent comes straight back. */
  private static final class EchoStream implements AutoCloseable {
    private final BlockingQueue<byte[]> replies = new ArrayBlockingQueue<>(4);
    private final ClientCall<byte[], byte[]> call;

    EchoStream(ManagedChannel ch) {
      call = ch.newCall(EchoServer.ECHO, io.grpc.CallOptions.DEFAULT);
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onMessage(byte[] message) {
          replies.add(message);
          call.request(1);
        }

        @Override
        public void onClose(Status status, Metadata trailers) {}
      }, new Metadata());
      call.request(1);
    }

    long once(TensorData x) throws InterruptedException {
      byte[] payload = x.data();
      long t0 = System.nanoTime();
      call.sendMessage(payload);
      byte[] back = replies.poll(30, TimeUnit.SECONDS);
      long t = System.nanoTime() - t0;
      if (back == null || back.length != payload.length) {
        throw new IllegalStateException("echo did not answer");
      }
      return t;
    }

    @Override
    public void close() {
      call.halfClose();
    }
  }
}
