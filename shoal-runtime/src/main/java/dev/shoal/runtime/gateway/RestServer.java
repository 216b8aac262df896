package dev.shoal.runtime.gateway;

import dev.shoal.runtime.wire.DataLoop;
import io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.group.ChannelGroup;
import io.grpc.netty.shaded.io.netty.channel.group.DefaultChannelGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpServerCodec;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.netty.shaded.io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The REST API's HTTP/1.1 server on Netty: non-blocking connections on a small event loop, a cap on
 * open connections, per-connection read and idle deadlines ({@link RestConnection}), a shared
 * budget for request bodies, optional TLS. When the backend has an event loop of its own (a plan
 * backend's data loop), HTTP runs on that one thread too: a request read there is sent to its first
 * stage, and its answer written, without a thread hand-off.
 */
final class RestServer implements AutoCloseable {

  private static final int MAX_INITIAL_LINE = 8 * 1024;
  private static final int MAX_HEADERS = 16 * 1024;
  private static final int MAX_CHUNK = 64 * 1024;

  private final HttpApi api;
  private final GatewayOptions options;
  private final BufferBudget budget;
  private final EventLoopGroup boss;
  private final EventLoopGroup loops;
  /** False when HTTP runs on the backend's loop, which the backend shuts down. */
  private final boolean ownsLoops;
  private final ChannelGroup open = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final AtomicInteger connections = new AtomicInteger();
  private final Channel listening;

  /**
   * Binds and starts serving.
   *
   * @param budget the bytes of bodies and decoded tensors held at once, shared with gRPC
   * @param tls null for plain HTTP
   */
  RestServer(InetSocketAddress address, HttpApi api, GatewayOptions options, BufferBudget budget, SslContext tls,
      Optional<DataLoop> shared) {
    this.api = api;
    this.options = options;
    this.budget = budget;
    this.ownsLoops = shared.isEmpty();
    this.boss = shared.map(DataLoop::group).orElseGet(() -> new NioEventLoopGroup(1,
        new DefaultThreadFactory("shoal-http-accept", true)));
    this.loops = shared.map(DataLoop::group).orElseGet(() -> new NioEventLoopGroup(Math.min(2,
        options.workerThreads()), new DefaultThreadFactory("shoal-http", true)));
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, loops)
        .channel(shared.<Class<? extends ServerChannel>>map(DataLoop::serverChannel)
            .orElse(NioServerSocketChannel.class))
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.ALLOCATOR, DataLoop.ALLOCATOR)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            if (connections.incrementAndGet() > options.maxConnections()) {
              connections.decrementAndGet();
              ch.close(); // over the cap: refused at once, costing nothing further
              return;
            }
            ch.closeFuture().addListener(f -> connections.decrementAndGet());
            open.add(ch);
            if (tls != null) {
              ch.pipeline().addLast("tls", tls.newHandler(ch.alloc()));
            }
            RestConnection connection = new RestConnection(RestServer.this);
            ch.pipeline().addLast("first-bytes", connection.new FirstBytes());
            ch.pipeline().addLast("http", new HttpServerCodec(MAX_INITIAL_LINE, MAX_HEADERS, MAX_CHUNK));
            ch.pipeline().addLast("api", connection);
          }
        });
    try {
      listening = b.bind(address).syncUninterruptibly().channel();
    } catch (RuntimeException e) {
      shutdownLoops();
      throw e;
    }
  }

  int port() {
    return ((InetSocketAddress) listening.localAddress()).getPort();
  }

  HttpApi api() {
    return api;
  }

  GatewayOptions options() {
    return options;
  }

  BufferBudget budget() {
    return budget;
  }

  /** Open connections now (for tests and the status page). */
  int connections() {
    return connections.get();
  }

  @Override
  public void close() {
    // awaited, not synced: on the backend's loop, that loop may already be shut down
    listening.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    open.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    shutdownLoops();
  }

  private void shutdownLoops() {
    if (!ownsLoops) {
      return;
    }
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
  }
}
