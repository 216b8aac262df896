package dev.shoal.runtime.security;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A TCP relay on loopback in front of one peer that keeps a copy of what clients send it: the
 * wiretap of an attacker on the path. Nodes dial its {@link #address()} under the peer's name;
 * the bytes pass unchanged (TLS runs end to end through it), and {@link #largestCapture()} gives
 * the client side of the busiest connection, handshake and encrypted calls, for replay.
 */
public final class RecordingProxy implements AutoCloseable {

  private static final int MAX_CAPTURE = 4 << 20;

  private final ServerSocket listening;
  private final String target;
  private final List<ByteArrayOutputStream> captures = new ArrayList<>();
  private final List<Socket> sockets = new ArrayList<>();
  private volatile boolean closed;

  /** @param target HOST:PORT of the peer */
  public RecordingProxy(String target) throws IOException {
    this.target = target;
    this.listening = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(this::acceptLoop, "recording-proxy-" + target);
    accept.setDaemon(true);
    accept.start();
  }

  /** HOST:PORT to dial instead of the peer. */
  public String address() {
    return "127.0.0.1:" + listening.getLocalPort();
  }

  /** What the client sent on the connection that carried the most bytes (at most 4 MiB of it). */
  public synchronized byte[] largestCapture() {
    return captures.stream().max(Comparator.comparingInt(ByteArrayOutputStream::size))
        .map(ByteArrayOutputStream::toByteArray).orElse(new byte[0]);
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket client = listening.accept();
        int colon = target.lastIndexOf(':');
        Socket server = new Socket(target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)));
        ByteArrayOutputStream capture = new ByteArrayOutputStream();
        synchronized (this) {
          captures.add(capture);
          sockets.add(client);
          sockets.add(server);
        }
        pump(client, server, capture);
        pump(server, client, null);
      } catch (IOException e) {
        if (!closed) {
          continue; // one failed connection; keep relaying the others
        }
        return;
      }
    }
  }

  private void pump(Socket from, Socket to, ByteArrayOutputStream capture) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[64 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) > 0) {
          if (capture != null) {
            synchronized (this) {
              capture.write(buf, 0, Math.min(n, Math.max(0, MAX_CAPTURE - capture.size())));
            }
          }
          out.write(buf, 0, n);
        }
      } catch (IOException connectionEnded) {
        // either side hung up: the other direction ends with it
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "recording-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    listening.close();
    synchronized (this) {
      sockets.forEach(RecordingProxy::closeQuietly);
    }
  }
}
