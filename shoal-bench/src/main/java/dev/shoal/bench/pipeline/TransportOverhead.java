package dev.shoal.bench.pipeline;

import java.time.Duration;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.FixedStagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.pipeline.PipelineBackend;
import dev.shoal.bench.BenchCerts;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.wire.GrpcChannels.HostPort;
import dev.shoal.runtime.worker.WorkerProcess;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintStream;
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
 * (a) a plain gRPC echo process, (b) a one-stage Shoal pipeline whose stage is an Identity, and
 * (c) a two-stage one. (b) minus (a) is what Shoal adds to two transfers (frames, checksums,
 * signature, queueing, an ONNX Runtime call); (c) minus (b) is one more worker-to-worker hop.
 */
final class TransportOverhead {

  record Row(String path, int bytes, Percentiles rttMillis) {}

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
  static List<Row> run(Path workDir, int[] sizes, int samples, Path certs, PrintStream log) throws Exception {
    PeerSecurity security = BenchCerts.coordinator(certs);
    List<Row> rows = new ArrayList<>();
    List<WorkerProcess> processes = new ArrayList<>();
    PipelineBackend one = null;
    PipelineBackend two = null;
    ManagedChannel echoChannel = null;
    try {
      WorkerProcess echo = WorkerProcess.startMain(List.of(), "echo", EchoServer.class.getName(),
          List.of("127.0.0.1"), workDir.resolve("echo.log"));
      processes.add(echo);
      List<WorkerEndpoint> workers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        WorkerProcess w = WorkerProcess.start(List.of(), "hop" + i, "127.0.0.1:0", 1.0, certs.resolve("hop" + i),
            workDir.resolve("hop" + i + ".log"));
        processes.add(w);
        workers.add(new WorkerEndpoint(w.name(), w.address()));
      }
      one = PipelineBackend.start(served("y"), workers.subList(0, 1),
          new FixedStagePlanner(List.of(identityModel("x", "y")), TensorCodec.parse("raw")), security,
          PipelineBackend.Options.DEFAULT);
      two = PipelineBackend.start(served("z"), workers.subList(1, 3),
          new FixedStagePlanner(List.of(identityModel("x", "y"), identityModel("y", "z")), TensorCodec.parse("raw")),
          security, PipelineBackend.Options.DEFAULT);
      HostPort hp = HostPort.parse(echo.address());
      echoChannel = NettyChannelBuilder.forAddress(hp.host(), hp.port()).usePlaintext()
          .maxInboundMessageSize(64 << 20).build();
      List<String> names = List.of("grpc-echo", "shoal-1-stage", "shoal-2-stage");
      for (int size : sizes) {
        log.printf("  transport: %d bytes, %d round trips per path, interleaved%n", size, samples);
        EchoStream echoStream = new EchoStream(echoChannel);
        List<RoundTrip> paths = List.of(echoStream::once, pipeline(one, size), pipeline(two, size));
        TensorData x = tensor(size, size);
        int warmup = Math.max(10, samples / 10);
        double[][] ms = new double[paths.size()][samples];
        for (int i = -warmup; i < samples; i++) {
          for (int p = 0; p < paths.size(); p++) {
            long t = paths.get(p).once(x);
            if (i >= 0) {
              ms[p][i] = t / 1e6;
            }
          }
        }
        echoStream.close();
        for (int p = 0; p < paths.size(); p++) {
          rows.add(new Row(names.get(p), size, Percentiles.of(ms[p])));
        }
      }
    } finally {
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

  private static ServedModel served(String output) {
    return new ServedModel("identity", "1", "onnxruntime_onnx",
        List.of(new TensorSpec("x", DType.FLOAT, new long[] {-1})),
        List.of(new TensorSpec(output, DType.FLOAT, new long[] {-1})));
  }

  private static TensorData tensor(int bytes, long seed) {
    float[] v = new float[bytes / 4];
    Random r = new Random(seed);
    for (int i = 0; i < v.length; i++) {
      v[i] = r.nextFloat();
    }
    return TensorData.ofFloats("x", new long[] {v.length}, v);
  }

  private static RoundTrip pipeline(PipelineBackend b, int size) {
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
