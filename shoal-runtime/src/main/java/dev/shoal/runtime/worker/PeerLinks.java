package dev.shoal.runtime.worker;

import dev.shoal.runtime.security.ClusterSecret;
import dev.shoal.runtime.wire.FrameStream;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.Frame;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * This worker's links to its peers, one {@code Push} stream per peer address, shared by every
 * stage it hosts (of any plan and epoch: frames carry their own address).
 */
final class PeerLinks implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(PeerLinks.class.getName());

  private record Link(ManagedChannel channel, FrameStream stream) {}

  private final ClusterSecret secret;
  private final int maxFrameBytes;
  private final Map<String, Link> links = new ConcurrentHashMap<>();
  private volatile boolean closed;

  PeerLinks(ClusterSecret secret, int maxFrameBytes) {
    this.secret = secret;
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Sends a frame to the worker at {@code address}, waiting while its link is not ready. A link
   * that broke (the peer restarted) is reopened once, without waiting out the channel's back-off.
   */
  void send(String address, Frame frame, long timeoutMillis) throws IOException {
    if (closed) {
      throw new IOException("worker stopping");
    }
    Link link = link(address);
    try {
      link.stream().send(frame, timeoutMillis);
    } catch (IOException e) {
      link.channel().resetConnectBackoff();
      link.stream().send(frame, timeoutMillis);
    }
  }

  /** A new deployment names these peers: a peer that was down may be back, so connect at once. */
  void reconnect(Iterable<String> addresses) {
    for (String a : addresses) {
      Link l = links.get(a);
      if (l != null) {
        l.channel().resetConnectBackoff();
      }
    }
  }

  private Link link(String address) {
    return links.computeIfAbsent(address, a -> {
      ManagedChannel ch = GrpcChannels.client(a, secret, maxFrameBytes);
      return new Link(ch, new FrameStream(ch, new FrameStream.Listener() {
        @Override
        public void rejected(long requestId, String error) {
          LOG.warning(() -> "peer " + a + " rejected request " + requestId + ": " + error);
        }

        @Override
        public void broken(Throwable cause) {
          LOG.fine(() -> "link to " + a + " broke: " + cause);
        }
      }));
    });
  }

  @Override
  public void close() {
    closed = true;
    for (Link l : links.values()) {
      l.stream().close();
      l.channel().shutdownNow();
    }
    links.clear();
  }
}
