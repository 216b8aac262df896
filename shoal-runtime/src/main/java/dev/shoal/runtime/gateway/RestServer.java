package dev.shoal.runtime.gateway;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The REST API's HTTP/1.1 server on Netty: non-blocking connections on a small event loop, a cap on
 * open connections, per-connection read and idle deadlines ({@link RestConnection}), a shared
 * budget for request bodies, optional TLS.
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
  private final ChannelGroup open = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final AtomicInteger connections = new AtomicInteger();
  private final Channel listening;

  /**
   * Binds and starts serving.
   *
   * @param budget the bytes of bodies and decoded tensors held at once, shared with gRPC
   * @param tls null for plain HTTP
   */
  RestServer(InetSocketAddress address, HttpApi api, GatewayOptions options, BufferBudget budget, SslContext tls) {
    this.api = api;
    this.options = options;
    this.budget = budget;
    this.boss = new NioEventLoopGroup(1, new DefaultThreadFactory("shoal-http-accept", true));
    this.loops = new NioEventLoopGroup(Math.min(2, options.workerThreads()),
        new DefaultThreadFactory("shoal-http", true));
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, loops)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
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
    listening.close().syncUninterruptibly();
    open.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    shutdownLoops();
  }

  private void shutdownLoops() {
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
  }
}
