package dev.shoal.runtime.worker;

import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.wire.DataLink;
import dev.shoal.runtime.wire.DataLoop;
import dev.shoal.runtime.wire.proto.Frame;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * This worker's links to its peers' data ports, one per peer, shared by every stage it hosts (of
 * any plan and epoch: frames carry their own address). Their I/O runs on the worker's
 * {@link DataLoop}, the thread its data server reads frames on.
 */
final class PeerLinks implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(PeerLinks.class.getName());

  private final PeerSecurity security;
  private final int maxFrameBytes;
  private final DataLoop loop;
  /** By peer node name and data address (mutual TLS accepts only that node's certificate there). */
  private final Map<String, DataLink> links = new ConcurrentHashMap<>();
  private volatile boolean closed;

  PeerLinks(PeerSecurity security, int maxFrameBytes, DataLoop loop) {
    this.security = security;
    this.maxFrameBytes = maxFrameBytes;
    this.loop = loop;
  }

  /**
   * Sends a frame to the worker at {@code address}, waiting while its link is not writable. A
   * link that broke (the peer restarted) is dialled again, once.
   */
  void send(String name, String address, Frame frame, long timeoutMillis) throws IOException {
    if (closed) {
      throw new IOException("worker stopping");
    }
    DataLink link = link(name, address);
    try {
      link.send(frame, timeoutMillis);
    } catch (IOException e) {
      link.send(frame, timeoutMillis);
    }
  }

  /**
   * Sends a frame to the worker at {@code address} if its link can take it now, without waiting.
   * A link that is not connected yet is not dialled here: setting up its TLS context can take long
   * enough to hold up the data loop this is called on.
   *
   * @return false when it cannot (not writable, not yet connected, broken, stopping): {@link #send} it
   */
  boolean trySend(String name, String address, Frame frame) {
    DataLink link = links.get(name + "@" + address);
    return !closed && link != null && link.trySend(frame);
  }

  private DataLink link(String name, String address) {
    return links.computeIfAbsent(name + "@" + address, a -> DataLink.push(name, address, security, maxFrameBytes, loop,
        new DataLink.Listener() {
          @Override
          public void rejected(long requestId, String error) {
            LOG.warning(() -> "peer " + a + " rejected request " + requestId + ": " + error);
          }

          @Override
          public void broken(String why) {
            LOG.fine(() -> "link to " + a + " broke: " + why);
          }
        }));
  }

  @Override
  public void close() {
    closed = true;
    links.values().forEach(DataLink::close);
    links.clear();
  }
}
