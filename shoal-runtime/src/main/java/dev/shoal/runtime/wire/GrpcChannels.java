package dev.shoal.runtime.wire;

import dev.shoal.runtime.security.AuthClientInterceptor;
import dev.shoal.runtime.security.AuthServerInterceptor;
import dev.shoal.runtime.security.ClusterSecret;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;

/** The one place Shoal's peers build gRPC channels and servers: signed calls, frame size limits. */
public final class GrpcChannels {
  /** Room for a frame's header fields on top of its payload limit. */
  private static final int HEADER_SLACK = 1 << 20;

  private GrpcChannels() {}

  public static ManagedChannel client(String hostPort, ClusterSecret secret, int maxFrameBytes) {
    HostPort hp = HostPort.parse(hostPort);
    return NettyChannelBuilder.forAddress(hp.host(), hp.port())
        .usePlaintext()
        .maxInboundMessageSize(maxFrameBytes + HEADER_SLACK)
        .intercept(new AuthClientInterceptor(secret))
        .build();
  }

  /** Binds a server; {@code port} 0 picks a free one ({@link Server#getPort()} tells which). */
  public static Server server(String host, int port, ClusterSecret secret, int maxFrameBytes,
      List<BindableService> services) throws IOException {
    AuthServerInterceptor auth = new AuthServerInterceptor(secret);
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .maxInboundMessageSize(maxFrameBytes + HEADER_SLACK)
        // a restarted worker must get its port back while the killed one's sockets linger
        .withOption(ChannelOption.SO_REUSEADDR, true);
    for (BindableService s : services) {
      b.addService(ServerInterceptors.intercept(s, auth));
    }
    return b.build().start();
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
