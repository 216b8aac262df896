package dev.shoal.runtime.gateway;

import com.sun.net.httpserver.HttpServer;
import dev.shoal.runtime.serving.ServingBackend;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The user-facing inference API in front of any {@link ServingBackend}: KServe v2 / Open Inference
 * Protocol over HTTP (JSON) and gRPC, Prometheus {@code /metrics}, and a status page at {@code /}.
 *
 * <p>HTTP runs on the JDK's built-in server: requests are small JSON bodies at edge rates, so it
 * needs no extra dependency, and a bounded thread pool gives back-pressure. gRPC runs on
 * grpc-netty-shaded, whose message-size limit enforces the same request limit. Closing the gateway
 * does not close the backend: whoever made the backend owns it.
 */
public final class Gateway implements AutoCloseable {

  static {
    // The JDK server writes response headers and body separately; with Nagle's algorithm on, the
    // body waits for the client's delayed ACK of the headers (~40 ms on Linux) on a busy
    // keep-alive connection. Read once, when the first server is made.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  static final String SERVER_NAME = "shoal";
  static final String SERVER_VERSION = "0.1.0";

  private final HttpServer http;
  private final ExecutorService httpExecutor;
  private final Server grpc;
  private final ExecutorService grpcExecutor;

  private Gateway(HttpServer http, ExecutorService httpExecutor, Server grpc, ExecutorService grpcExecutor) {
    this.http = http;
    this.httpExecutor = httpExecutor;
    this.grpc = grpc;
    this.grpcExecutor = grpcExecutor;
  }

  /**
   * Starts both APIs on every interface with default limits; port 0 picks a free port (see {@link
   * #httpPort()}).
   */
  public static Gateway start(ServingBackend backend, int httpPort, int grpcPort) {
    return start(backend, new InetSocketAddress(httpPort), new InetSocketAddress(grpcPort), GatewayOptions.defaults());
  }

  public static Gateway start(ServingBackend backend, int httpPort, int grpcPort, GatewayOptions options) {
    return start(backend, new InetSocketAddress(httpPort), new InetSocketAddress(grpcPort), options);
  }

  /** Starts both APIs on the given addresses (port 0: a free one). */
  public static Gateway start(ServingBackend backend, InetSocketAddress httpAddress, InetSocketAddress grpcAddress,
      GatewayOptions options) {
    InferenceDispatcher dispatcher = new InferenceDispatcher(backend, options);
    RequestRecorder recorder = new RequestRecorder();
    ThreadPoolExecutor httpExecutor = new ThreadPoolExecutor(
        options.httpThreads(), options.httpThreads(), 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(options.httpQueue()), daemonThreads("shoal-http-"),
        new ThreadPoolExecutor.CallerRunsPolicy());
    ExecutorService grpcExecutor = Executors.newFixedThreadPool(options.httpThreads(), daemonThreads("shoal-grpc-"));
    HttpServer http = null;
    try {
      http = HttpServer.create(httpAddress, 128);
      http.createContext("/", new HttpApi(dispatcher, recorder, options.maxRequestBytes()));
      http.setExecutor(httpExecutor);
      http.start();
      Server grpc = NettyServerBuilder.forAddress(grpcAddress, InsecureServerCredentials.create())
          .addService(new GrpcInferenceApi(dispatcher, recorder))
          .maxInboundMessageSize((int) options.maxRequestBytes())
          .executor(grpcExecutor)
          .build()
          .start();
      return new Gateway(http, httpExecutor, grpc, grpcExecutor);
    } catch (IOException e) {
      if (http != null) {
        http.stop(0);
      }
      httpExecutor.shutdownNow();
      grpcExecutor.shutdownNow();
      throw new UncheckedIOException("could not start the gateway on HTTP " + httpAddress + ", gRPC "
          + grpcAddress + ": " + e.getMessage(), e);
    }
  }

  public int httpPort() {
    return http.getAddress().getPort();
  }

  public int grpcPort() {
    return grpc.getPort();
  }

  @Override
  public void close() {
    grpc.shutdown();
    http.stop(0);
    try {
      if (!grpc.awaitTermination(2, TimeUnit.SECONDS)) {
        grpc.shutdownNow();
      }
    } catch (InterruptedException e) {
      grpc.shutdownNow();
      Thread.currentThread().interrupt();
    }
    httpExecutor.shutdownNow();
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
