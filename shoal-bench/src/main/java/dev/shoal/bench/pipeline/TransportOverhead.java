package dev.shoal.bench.pipeline;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.FixedStagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.pipeline.PipelineBackend;
import dev.shoal.runtime.security.ClusterSecret;
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

  static List<Row> run(Path workDir, int[] sizes, int samples, ClusterSecret secret, Path secretFile,
      PrintStream log) throws Exception {
    List<Row> rows = new ArrayList<>();
    List<WorkerProcess> processes = new ArrayList<>();
    try {
      WorkerProcess echo = WorkerProcess.startMain(List.of(), "echo", EchoServer.class.getName(),
          List.of("127.0.0.1"), workDir.resolve("echo.log"));
      processes.add(echo);
      for (int i = 0; i < 2; i++) {
        processes.add(WorkerProcess.start(List.of(), "hop" + i, "127.0.0.1:0", 1.0, secretFile,
            workDir.resolve("hop" + i + ".log")));
      }
      List<WorkerEndpoint> workers = List.of(
          new WorkerEndpoint("hop0", processes.get(1).address()),
          new WorkerEndpoint("hop1", processes.get(2).address()));
      for (int size : sizes) {
        log.printf("  transport: %d bytes through the echo baseline%n", size);
        rows.add(new Row("grpc-echo", size, echoRtt(echo.address(), size, samples)));
      }
      ServedModel oneStage = served("y");
      try (PipelineBackend b = PipelineBackend.start(oneStage, workers.subList(0, 1),
          new FixedStagePlanner(List.of(identityModel("x", "y")), TensorCodec.parse("raw")), secret,
          PipelineBackend.Options.DEFAULT)) {
        for (int size : sizes) {
          log.printf("  transport: %d bytes through a 1-stage pipeline%n", size);
          rows.add(new Row("shoal-1-stage", size, pipelineRtt(b, size, samples)));
        }
      }
      ServedModel twoStages = served("z");
      try (PipelineBackend b = PipelineBackend.start(twoStages, workers,
          new FixedStagePlanner(List.of(identityModel("x", "y"), identityModel("y", "z")), TensorCodec.parse("raw")),
          secret, PipelineBackend.Options.DEFAULT)) {
        for (int size : sizes) {
          log.printf("  transport: %d bytes through a 2-stage pipeline%n", size);
          rows.add(new Row("shoal-2-stage", size, pipelineRtt(b, size, samples)));
        }
      }
    } finally {
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

  private static Percentiles pipelineRtt(PipelineBackend b, int size, int samples) throws Exception {
    TensorData x = tensor(size, size);
    int warmup = Math.max(10, samples / 10);
    double[] ms = new double[samples];
    for (int i = -warmup; i < samples; i++) {
      long t0 = System.nanoTime();
      Map<String, TensorData> out = b.infer("identity", Map.of("x", x)).get(30, TimeUnit.SECONDS);
      long t = System.nanoTime() - t0;
      if (out.values().iterator().next().data().length != size) {
        throw new IllegalStateException("identity pipeline returned the wrong size");
      }
      if (i >= 0) {
        ms[i] = t / 1e6;
      }
    }
    return Percentiles.of(ms);
  }

  private static Percentiles echoRtt(String address, int size, int samples) throws Exception {
    HostPort hp = HostPort.parse(address);
    ManagedChannel ch = NettyChannelBuilder.forAddress(hp.host(), hp.port()).usePlaintext()
        .maxInboundMessageSize(64 << 20).build();
    try {
      BlockingQueue<byte[]> replies = new ArrayBlockingQueue<>(4);
      ClientCall<byte[], byte[]> call = ch.newCall(EchoServer.ECHO, io.grpc.CallOptions.DEFAULT);
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
      byte[] payload = tensor(size, size).data();
      int warmup = Math.max(10, samples / 10);
      double[] ms = new double[samples];
      for (int i = -warmup; i < samples; i++) {
        long t0 = System.nanoTime();
        call.sendMessage(payload);
        byte[] back = replies.poll(30, TimeUnit.SECONDS);
        long t = System.nanoTime() - t0;
        if (back == null || back.length != size) {
          throw new IllegalStateException("echo did not answer");
        }
        if (i >= 0) {
          ms[i] = t / 1e6;
        }
      }
      call.halfClose();
      return Percentiles.of(ms);
    } finally {
      ch.shutdownNow();
    }
  }
}
