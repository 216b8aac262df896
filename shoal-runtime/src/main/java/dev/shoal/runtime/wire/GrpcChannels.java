package dev.shoal.runtime.wire;

import dev.shoal.runtime.security.CoordinatorSession;
import dev.shoal.runtime.security.PeerAuthorization;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.WorkerLease;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerCallExecutorSupplier;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/**
 * The one place Shoal's peers build gRPC channels and servers, for the control plane (deploy,
 * heartbeat, drain, status, release): mutual TLS (or loopback plaintext for the overhead
 * baseline), message size limits, a coordinator's lease session on its calls, and heartbeats kept
 * apart from the rest. The data plane is not gRPC ({@link DataServer}, {@link DataLink}).
 */
public final class GrpcChannels {
  /** Room for a frame's header fields on top of its payload limit. */
  static final int HEADER_SLACK = 1 << 20;
  private static final String HEARTBEAT = "shoal.v1.WorkerControl/Heartbeat";
  /** Runs a callback on the thread that calls it: the transport's, for callbacks that never block. */
  private static final Executor ON_TRANSPORT = Runnable::run;

  /**
   * Heartbeats travel on their own connections, whose I/O runs on this one event-loop thread and
   * whose callbacks on {@link #HEARTBEAT_CALLBACKS}: never behind a large frame being encrypted or
   * a busy data executor, so a loaded but healthy worker is not declared dead.
   */
  private static final EventLoopGroup HEARTBEAT_LOOP = new NioEventLoopGroup(1, daemon("heartbeat-io"));
  private static final Executor HEARTBEAT_CALLBACKS = Executors.newSingleThreadExecutor(daemon("heartbeat-callbacks"));
  /** A worker answers heartbeats on this thread, not on the executor that takes frames and deployments. */
  private static final Executor HEARTBEAT_ANSWERS = Executors.newSingleThreadExecutor(daemon("heartbeat-server"));

  private GrpcChannels() {}

  /**
   * A control channel to the worker {@code peerName} at HOST:PORT; TLS accepts only that node's
   * certificate. Its callbacks (replies) run on the transport thread, saving a hand-off per
   * message: whoever uses it must not block in them.
   */
  public static ManagedChannel client(String peerName, String hostPort, PeerSecurity security, int maxFrameBytes) {
    return builder(peerName, hostPort, security).maxInboundMessageSize(maxFrameBytes + HEADER_SLACK)
        .executor(ON_TRANSPORT).build();
  }

  /** A channel for heartbeats only, to the worker {@code peerName} (its own connection and threads). */
  public static ManagedChannel heartbeatClient(String peerName, String hostPort, PeerSecurity security) {
    return builder(peerName, hostPort, security)
        .eventLoopGroup(HEARTBEAT_LOOP)
        .channelType(NioSocketChannel.class)
        .executor(HEARTBEAT_CALLBACKS)
        .build();
  }

  private static NettyChannelBuilder builder(String peerName, String hostPort, PeerSecurity security) {
    HostPort hp = HostPort.parse(hostPort);
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(hp.host(), hp.port());
    if (security.tls()) {
      // the certificate names the node, not its (DHCP) address: PeerTrustManager checks the name
      b.sslContext(security.clientContext(peerName)).overrideAuthority(peerName);
    } else {
      requireLoopback(hp.host(), "dial");
      b.usePlaintext();
    }
    CoordinatorSession session = security.session();
    if (session != null) {
      b.intercept(session.interceptor());
    }
    return b;
  }

  /**
   * Binds a worker's control server; {@code port} 0 picks a free one ({@link Server#getPort()}
   * tells which). Every call is authorised by the caller's certificate role, then by the lease.
   * Heartbeats are served on their own high-priority thread. (Frames go to the data port:
   * {@link DataServer}.)
   */
  public static Server server(String host, int port, PeerSecurity security, WorkerLease lease, int maxFrameBytes,
      List<BindableService> services) throws IOException {
    if (!security.tls()) {
      requireLoopback(host, "listen on");
    }
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .maxInboundMessageSize(maxFrameBytes + HEADER_SLACK)
        // a restarted worker must get its port back while the killed one's sockets linger
        .withOption(ChannelOption.SO_REUSEADDR, true);
    if (security.tls()) {
      b.sslContext(security.serverContext());
    }
    b.callExecutor(new ServerCallExecutorSupplier() {
      @Override
      public <Q, R> Executor getExecutor(io.grpc.ServerCall<Q, R> call, io.grpc.Metadata headers) {
        String method = call.getMethodDescriptor().getFullMethodName();
        return method.equals(HEARTBEAT) ? HEARTBEAT_ANSWERS : null;
      }
    });
    PeerAuthorization authorization = new PeerAuthorization(security);
    for (BindableService s : services) {
      // the last interceptor runs first: authorisation by role, then the lease
      b.addService(ServerInterceptors.intercept(s, lease, authorization));
    }
    return b.build().start();
  }

  /** Plaintext is for the TLS-overhead baseline on loopback only. */
  static void requireLoopback(String host, String what) {
    boolean loopback;
    try {
      loopback = InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      loopback = false;
    }
    if (!loopback) {
      throw new IllegalArgumentException("plaintext peer links may only " + what + " loopback, not " + host);
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      t.setPriority(Thread.MAX_PRIORITY);
      return t;
    };
  }

  /** A "host:port" address. */
  public record HostPort(String host, int port) {
    public static HostPort parse(String text) {
      int colon = text.lastIndexOf(':');
      if (colon <= 0 || colon == text.length() - 1) {
        throw new IllegalArgumentException("address '" + text + "' is not HOST:PORT");
      }
      int port;
      try {
        port = Integer.parseInt(text.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("address '" + text + "': port is not a number");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("address '" + text + "': port out of range");
      }
      return new HostPort(text.substring(0, colon), port);
    }

    @Override
    public String toString() {
      return host + ":" + port;
    }
  }
}
