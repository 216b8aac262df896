package dev.shoal.runtime.worker;

import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.wire.DataLoop;
import dev.shoal.runtime.wire.FrameStream;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.Frame;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * This worker's links to its peers, one {@code Push} stream per peer address, shared by every
 * stage it hosts (of any plan and epoch: frames carry their own address). Their I/O runs on the
 * worker's {@link DataLoop}, the thread its data server reads frames on.
 */
final class PeerLinks implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(PeerLinks.class.getName());

  private record Link(ManagedChannel channel, FrameStream stream) {}

  private final PeerSecurity security;
  private final int maxFrameBytes;
  private final DataLoop loop;
  /** By peer node name and address (mutual TLS accepts only that node's certificate there). */
  private final Map<String, Link> links = new ConcurrentHashMap<>();
  private volatile boolean closed;

  PeerLinks(PeerSecurity security, int maxFrameBytes, DataLoop loop) {
    this.security = security;
    this.maxFrameBytes = maxFrameBytes;
    this.loop = loop;
  }

  /**
   * Sends a frame to the worker at {@code address}, waiting while its link is not ready. A link
   * that broke (the peer restarted) is reopened once, without waiting out the channel's back-off.
   */
  void send(String name, String address, Frame frame, long timeoutMillis) throws IOException {
    if (closed) {
      throw new IOException("worker stopping");
    }
    Link link = link(name, address);
    try {
      link.stream().send(frame, timeoutMillis);
    } catch (IOException e) {
      link.channel().resetConnectBackoff();
      link.stream().send(frame, timeoutMillis);
    }
  }

  /**
   * Sends a frame to the worker at {@code address} if its link can take it now, without waiting.
   * A link that does not exist yet is not made here: building its channel (TLS context included)
   * can take long enough to hold up the data loop this is called on.
   *
   * @return false when it cannot (not ready, not yet made, broken, stopping): {@link #send} it
   */
  boolean trySend(String name, String address, Frame frame) {
    Link link = links.get(name + "@" + address);
    return !closed && link != null && link.stream().trySend(frame);
  }

  /** A new deployment names these peers: a peer that was down may be back, so connect at once. */
  void reconnect(List<String> names, List<String> addresses) {
    for (int i = 0; i < addresses.size(); i++) {
      Link l = links.get(names.get(i) + "@" + addresses.get(i));
      if (l != null) {
        l.channel().resetConnectBackoff();
      }
    }
  }

  private Link link(String name, String address) {
    return links.computeIfAbsent(name + "@" + address, a -> {
      ManagedChannel ch = GrpcChannels.peerClient(name, address, security, maxFrameBytes, loop);
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
