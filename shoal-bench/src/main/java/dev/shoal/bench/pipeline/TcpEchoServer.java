package dev.shoal.bench.pipeline;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * The floor under every transport: a raw TCP socket that echoes length-prefixed messages (4-byte
 * big-endian length, then the bytes), one thread per connection, run as its own process like a
 * worker. Prints {@code listening on HOST:PORT}.
 */
public final class TcpEchoServer {

  private TcpEchoServer() {}

  public static void main(String[] args) throws IOException {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    try (ServerSocket server = new ServerSocket(0, 16, InetAddress.getByName(host))) {
      System.out.println("listening on " + host + ":" + server.getLocalPort() + " ");
      System.out.flush();
      while (true) {
        Socket s = server.accept();
        Thread t = new Thread(() -> echo(s), "tcp-echo");
        t.setDaemon(true);
        t.start();
      }
    }
  }

  private static void echo(Socket s) {
    try (s) {
      s.setTcpNoDelay(true);
      DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(s.getInputStream(), 1 << 16));
      DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(s.getOutputStream(), 1 << 16));
      byte[] buf = new byte[0];
      while (true) {
        int n = in.readInt();
        if (buf.length < n) {
          buf = new byte[n];
        }
        in.readFully(buf, 0, n);
        out.writeInt(n);
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // the client closed the connection
    }
  }
}
