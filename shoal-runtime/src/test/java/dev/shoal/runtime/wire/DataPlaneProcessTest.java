package dev.shoal.runtime.wire;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.model.TensorData;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.coordinator.WorkerLeases;
import dev.shoal.runtime.pipeline.ChainModels;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerIdentity;
import dev.shoal.runtime.security.PeerProbes;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.wire.proto.DataHello;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.StatusReply;
import dev.shoal.runtime.worker.WorkerProcess;
import io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The data port against real worker processes on loopback (mutual TLS): bytes that are not the
 * protocol, callers it must refuse, and back-pressure from a slow reader.
 */
class DataPlaneProcessTest {
  private static final int WIDTH = 16;
  private static final int LAYERS = 4;
  private static final Path LOGS = Path.of("target", "dataplane-test-logs");

  private static Path dir;
  private static final List<WorkerProcess> processes = new ArrayList<>();
  private static final List<WorkerEndpoint> endpoints = new ArrayList<>();
  private static NodeCredentials coordinator;
  private static PeerSecurity security;
  private static PlanBackend backend;
  private static DataLoop loop;

  @BeforeAll
  static void start() throws IOException {
    dir = Files.createTempDirectory("shoal-dataplane-test");
    Files.createDirectories(LOGS);
    CertificateAuthority.provision(dir.resolve("cluster"), List.of("coordinator"), List.of("w0", "w1", "reader"));
    CertificateAuthority.provision(dir.resolve("other"), List.of("coordinator"), List.of("w0"));
    coordinator = NodeCredentials.load(dir.resolve("cluster").resolve("coordinator"));
    for (int i = 0; i < 2; i++) {
      WorkerProcess p = WorkerProcess.start(List.of(), "w" + i, "127.0.0.1:0", 1.0,
          dir.resolve("cluster").resolve("w" + i), LOGS.resolve("w" + i + ".log"));
      processes.add(p);
      endpoints.add(new WorkerEndpoint(p.name(), p.address()));
    }
    security = PeerSecurity.mutualTls(coordinator);
    backend = PlanBackend.start(endpoints, List.of(FixedPlacement.chain("chain", List.of(
        ChainModels.slice(WIDTH, LAYERS, 0, 1), ChainModels.slice(WIDTH, LAYERS, 2, 3)), List.of("w0", "w1"), "raw",
        new double[2])), security, PlanBackend.Options.DEFAULT);
    loop = new DataLoop("test-data-loop", 0);
  }

  @AfterAll
  static void stop() throws IOException {
    backend.close();
    WorkerLeases.release(endpoints, security);
    loop.close();
    processes.forEach(WorkerProcess::close);
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  private static TensorData input(int seed) {
    float[] v = new float[WIDTH];
    for (int i = 0; i < WIDTH; i++) {
      v[i] = (seed * 31 + i) % 7 - 3;
    }
    return TensorData.ofFloats("x", new long[] {1, WIDTH}, v);
  }

  /** The pipeline answers, and answers the same as before. */
  private static void stillServes(Map<String, TensorData> want) throws Exception {
    assertThat(backend.run("chain", Map.of("x", input(1)), Duration.ofSeconds(60)).get(30, TimeUnit.SECONDS))
        .isEqualTo(want);
  }

  private static long w0(ToLongFunction<StatusReply> what) {
    return what.applyAsLong(backend.status(endpoints.get(0)));
  }

  private static void waitFor(BooleanSupplier condition, int seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(condition.getAsBoolean()).as("condition within %d s", seconds).isTrue();
  }

  /**
   * Opens a mutual-TLS connection to w0's data port as the coordinator and writes {@code bytes}
   * as they are; returns once the worker closed it (or 10 s passed: false).
   */
  private static boolean writeRaw(ByteBuf bytes) throws InterruptedException {
    String at = backend.dataAddress(endpoints.get(0));
    GrpcChannels.HostPort hp = GrpcChannels.HostPort.parse(at);
    Channel ch = new Bootstrap().group(loop.group()).channel(loop.channel())
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel c) {
            c.pipeline().addLast(security.clientContext("w0").newHandler(c.alloc(), hp.host(), hp.port()),
                new ChannelInboundHandlerAdapter());
          }
        }).connect(hp.host(), hp.port()).sync().channel();
    ch.writeAndFlush(bytes);
    return ch.closeFuture().await(10, TimeUnit.SECONDS);
  }

  private static ByteBuf message(byte kind, byte[] body) {
    return Unpooled.buffer().writeInt(body.length).writeByte(kind).writeBytes(body);
  }

  private static ByteBuf hello(DataHello.Purpose purpose) {
    return message(DataMessage.HELLO, DataHello.newBuilder().setPurpose(purpose)
        .setSession(security.session().id()).build().toByteArray());
  }

  @Test
  void bytesThatAreNotTheProtocolAreCountedAndTheWorkerKeepsServing() throws Exception {
    Map<String, TensorData> want = backend.run("chain", Map.of("x", input(1)), Duration.ofSeconds(60))
        .get(30, TimeUnit.SECONDS);
    long errors = w0(StatusReply::getDataProtocolErrors);
    long refused = w0(StatusReply::getDataConnectionsRefused);
    // 1. garbage after a good hello: a frame whose length is far over the limit
    assertThat(writeRaw(Unpooled.wrappedBuffer(hello(DataHello.Purpose.PUSH),
        Unpooled.buffer().writeInt(Integer.MAX_VALUE).writeByte(DataMessage.FRAME).writeLong(42))))
        .as("closed by the worker").isTrue();
    // 2. an unknown kind as the very first message
    assertThat(writeRaw(message((byte) 42, new byte[3]))).isTrue();
    // 3. a frame that does not parse
    assertThat(writeRaw(Unpooled.wrappedBuffer(hello(DataHello.Purpose.PUSH),
        message(DataMessage.FRAME, new byte[] {0x0F, 0, 0})))).isTrue();
    // 4. a message before the hello, and 5. a results request on a push connection
    assertThat(writeRaw(message(DataMessage.SUBSCRIBE, new byte[0]))).isTrue();
    assertThat(writeRaw(Unpooled.wrappedBuffer(hello(DataHello.Purpose.PUSH), message(DataMessage.SUBSCRIBE,
        new byte[0])))).isTrue();
    waitFor(() -> w0(StatusReply::getDataProtocolErrors) - errors == 5, 10);
    // 6. plaintext bytes on the TLS port: the handshake fails, a refusal
    try (Socket s = new Socket("127.0.0.1", GrpcChannels.HostPort.parse(backend.dataAddress(endpoints.get(0))).port())) {
      OutputStream out = s.getOutputStream();
      out.write(new byte[] {0, 0, 0, 1, 3, 0});
      out.flush();
      s.setSoTimeout(10_000);
      assertThat(s.getInputStream().read(new byte[1024])).isNotZero();
    }
    waitFor(() -> w0(StatusReply::getDataConnectionsRefused) - refused == 1, 10);
    assertThat(w0(StatusReply::getDataProtocolErrors) - errors).isEqualTo(5);
    stillServes(want);
  }

  @Test
  void callersWithoutTheRightCertificateOrLeaseAreRefusedAndCounted() throws Exception {
    Map<String, TensorData> want = backend.run("chain", Map.of("x", input(1)), Duration.ofSeconds(60))
        .get(30, TimeUnit.SECONDS);
    String at = backend.dataAddress(endpoints.get(0));
    long refused = w0(StatusReply::getDataConnectionsRefused);
    List<String> why = Collections.synchronizedList(new ArrayList<>());
    DataLink.Listener listener = new DataLink.Listener() {
      @Override
      public void broken(String reason) {
        why.add(reason);
      }
    };
    // a certificate of another cluster's CA (trusting ours, so the refusal is the worker's)
    NodeCredentials impostor = PeerProbes.impostor(NodeCredentials.load(dir.resolve("other").resolve("coordinator")),
        coordinator);
    Frame f = Frames.encode(9_000_001, backend.epoch(), "s0", "", 0, List.of(input(2)), TensorCodec.parse("raw"));
    try (DataLink l = DataLink.push("w0", at, PeerSecurity.mutualTls(impostor), 1 << 20, loop, listener)) {
      try {
        l.send(f, 10_000); // TLS 1.3: the client may finish its handshake before the worker checks its certificate
      } catch (IOException refusedAtOnce) {
        // the worker's alert came first
      }
      waitFor(() -> why.size() == 1, 10);
    }
    // the cluster's own coordinator certificate, but another session: it does not hold the lease
    try (DataLink l = DataLink.results("w0", at, PeerSecurity.mutualTls(coordinator), 1 << 20, loop, backend.epoch(),
        listener)) {
      waitFor(() -> why.size() == 2, 10);
    }
    // a worker's certificate may push, but not subscribe to results
    try (DataLink l = DataLink.results("w0", at, PeerSecurity.mutualTls(NodeCredentials.load(
        dir.resolve("cluster").resolve("w1"))), 1 << 20, loop, backend.epoch(), listener)) {
      waitFor(() -> why.size() == 3, 10);
    }
    assertThat(why.get(1)).contains("refused").contains("worker w0 is leased to " + security.session().holder());
    assertThat(why.get(2)).contains("refused").contains("may only push frames");
    waitFor(() -> w0(StatusReply::getDataConnectionsRefused) - refused == 3, 10);
    stillServes(want);
  }

  /**
   * 120 frames of 256 KiB pushed as fast as the link takes them into a reader that takes one frame
   * every 5 ms: the sender is held back (the link stops being writable), and every frame arrives,
   * intact and in order.
   */
  @Test
  void aSlowReaderSlowsTheSenderAndLosesNothing() throws Exception {
    int frames = 120;
    int floats = 64 << 10; // 256 KiB
    // (request id, the tensor's floats): a frame's payloads are valid only while push runs
    ConcurrentLinkedQueue<Map.Entry<Long, float[]>> got = new ConcurrentLinkedQueue<>();
    ExecutorService reader = Executors.newSingleThreadExecutor();
    NodeCredentials readerCredentials = NodeCredentials.load(dir.resolve("cluster").resolve("reader"));
    DataServer.Service slow = new DataServer.Service() {
      @Override
      public String admit(PeerIdentity peer, DataHello hello) {
        return null;
      }

      @Override
      public String push(Frame frame, Runnable next) {
        got.add(Map.entry(frame.getRequestId(), Frames.decode(frame, 1 << 20).get("x").floats()));
        reader.execute(() -> {
          try {
            Thread.sleep(5);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          next.run();
        });
        return null;
      }

      @Override
      public void subscribe(long epoch, DataServer.Subscriber subscriber) {}
    };
    AtomicInteger notWritable = new AtomicInteger();
    try (DataLoop serverLoop = new DataLoop("test-reader-loop", 0);
        DataServer server = DataServer.start("127.0.0.1", 0, PeerSecurity.mutualTls(readerCredentials), 1 << 20,
            serverLoop, slow);
        DataLink link = DataLink.push("reader", "127.0.0.1:" + server.port(), security, 1 << 20, loop,
            new DataLink.Listener() {})) {
      long start = System.nanoTime();
      for (int i = 0; i < frames; i++) {
        float[] v = new float[floats];
        java.util.Arrays.fill(v, i);
        Frame f = Frames.encode(i, 1, "s", "", 0, List.of(TensorData.ofFloats("x", new long[] {1, floats}, v)),
            TensorCodec.parse("raw"));
        if (!link.trySend(f)) {
          notWritable.incrementAndGet();
          link.send(f, 30_000);
        }
      }
      waitFor(() -> got.size() == frames, 60);
      double seconds = (System.nanoTime() - start) / 1e9;
      assertThat(seconds).as("the reader's pace bounds the transfer").isGreaterThan(frames * 0.005 * 0.9);
    } finally {
      reader.shutdownNow();
    }
    assertThat(notWritable.get()).as("the sender was held back").isGreaterThan(0);
    List<Map.Entry<Long, float[]>> order = List.copyOf(got);
    assertThat(order).hasSize(frames);
    for (int i = 0; i < frames; i++) {
      assertThat(order.get(i).getKey()).isEqualTo(i);
      float[] v = order.get(i).getValue();
      assertThat(v[0]).isEqualTo(i);
      assertThat(v[floats - 1]).isEqualTo(i);
    }
  }
}
