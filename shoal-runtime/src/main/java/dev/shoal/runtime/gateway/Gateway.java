package dev.shoal.runtime.gateway;

import dev.shoal.runtime.serving.ServingBackend;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The user-facing inference API in front of any {@link ServingBackend}: KServe v2 / Open Inference
 * Protocol over HTTP (JSON) and gRPC, Prometheus {@code /metrics}, and a status page at {@code /}.
 *
 * <p>HTTP runs on Netty ({@link RestServer}): no thread waits on a model, every connection has read
 * and idle deadlines, bodies are capped one by one and together. gRPC runs on grpc-netty-shaded,
 * whose message-size limit enforces the same request limit; its messages count against the same
 * budget as REST's bodies ({@link GrpcBodyBudget}). Closing the gateway does not close the
 * backend: whoever made the backend owns it.
 */
public final class Gateway implements AutoCloseable {

  static final String SERVER_NAME = "shoal";
  static final String SERVER_VERSION = "0.1.0";

  private final RestServer http;
  private final ExecutorService workers;
  private final ScheduledExecutorService timer;
  private final Server grpc;
  private final ExecutorService grpcExecutor;
  private final BufferBudget budget;

  private Gateway(RestServer http, ExecutorService workers, ScheduledExecutorService timer, Server grpc,
      ExecutorService grpcExecutor, BufferBudget budget) {
    this.budget = budget;
    this.http = http;
    this.workers = workers;
    this.timer = timer;
    this.grpc = grpc;
    this.grpcExecutor = grpcExecutor;
  }

  /**
   * Starts both APIs on loopback, open, with default limits; port 0 picks a free port (see {@link
   * #httpPort()}). For tests, demos and benchmarks on this machine.
   */
  public static Gateway start(ServingBackend backend, int httpPort, int grpcPort) {
    return start(backend, httpPort, grpcPort, GatewayOptions.defaults());
  }

  /** Starts both APIs on loopback, open. */
  public static Gateway start(ServingBackend backend, int httpPort, int grpcPort, GatewayOptions options) {
    InetAddress loopback = InetAddress.getLoopbackAddress();
    return start(backend, new InetSocketAddress(loopback, httpPort), new InetSocketAddress(loopback, grpcPort),
        options, GatewaySecurity.OPEN);
  }

  /**
   * Starts both APIs on the given addresses (port 0: a free one). An address beyond loopback is
   * refused unless {@code security} has API keys.
   */
  public static Gateway start(ServingBackend backend, InetSocketAddress httpAddress, InetSocketAddress grpcAddress,
      GatewayOptions options, GatewaySecurity security) {
    security.checkBinding(httpAddress, "HTTP");
    security.checkBinding(grpcAddress, "gRPC");
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(daemonThreads("shoal-deadlines-"));
    InferenceDispatcher dispatcher = new InferenceDispatcher(backend, options, timer);
    RequestRecorder recorder = new RequestRecorder();
    ExecutorService workers = Executors.newFixedThreadPool(options.workerThreads(), daemonThreads("shoal-api-"));
    ExecutorService grpcExecutor = Executors.newFixedThreadPool(options.workerThreads(), daemonThreads("shoal-grpc-"));
    BufferBudget budget = new BufferBudget(options.maxBufferedBytes());
    RestServer http = null;
    try {
      SslContext restTls = security.tls()
          ? SslContextBuilder.forServer(security.tlsCert().toFile(), security.tlsKey().toFile()).build()
          : null;
      http = new RestServer(httpAddress, new HttpApi(dispatcher, recorder, workers, security), options, budget,
          restTls, backend.ioLoop());
      ServerCredentials grpcCredentials = security.tls()
          ? TlsServerCredentials.create(security.tlsCert().toFile(), security.tlsKey().toFile())
          : InsecureServerCredentials.create();
      Server grpc = NettyServerBuilder.forAddress(grpcAddress, grpcCredentials)
          // the key check runs first: an unauthenticated call reserves nothing
          .addService(ServerInterceptors.intercept(new GrpcInferenceApi(dispatcher, recorder),
              new GrpcBodyBudget(budget, options, timer), new GrpcKeyCheck(security)))
          .maxInboundMessageSize((int) options.maxRequestBytes())
          .executor(grpcExecutor)
          .build()
          .start();
      return new Gateway(http, workers, timer, grpc, grpcExecutor, budget);
    } catch (IOException | RuntimeException e) {
      if (http != null) {
        http.close();
      }
      workers.shutdownNow();
      timer.shutdownNow();
      grpcExecutor.shutdownNow();
      throw new UncheckedIOException("could not start the gateway on HTTP " + httpAddress + ", gRPC "
          + grpcAddress + ": " + e.getMessage(), e instanceof IOException io ? io : new IOException(e));
    }
  }

  public int httpPort() {
    return http.port();
  }

  public int grpcPort() {
    return grpc.getPort();
  }

  /** Bytes of request bodies, gRPC messages and decoded tensors held now (see {@link BufferBudget}). */
  long bufferedBytes() {
    return budget.used();
  }

  @Override
  public void close() {
    grpc.shutdown();
    http.close();
    try {
      if (!grpc.awaitTermination(2, TimeUnit.SECONDS)) {
        grpc.shutdownNow();
      }
    } catch (InterruptedException e) {
      grpc.shutdownNow();
      Thread.currentThread().interrupt();
    }
    workers.shutdownNow();
    timer.shutdownNow();
    grpcExecutor.shutdownNow();
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
