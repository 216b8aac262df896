package dev.shoal.runtime.wire;

import dev.shoal.runtime.security.CoordinatorSession;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.wire.proto.DataHello;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.ResultsRequest;
import io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelFuture;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.WriteBufferWaterMark;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.handler.flush.FlushConsolidationHandler;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.IOException;
import java.util.logging.Logger;

/**
 * A connection to a worker's data port ({@link DataServer}): a coordinator's or a peer's link that
 * pushes frames, or a coordinator's subscription to one epoch's results. Its I/O runs on the
 * caller's {@link DataLoop}; mutual TLS accepts only the certificate of the node it dials. The
 * hello (and for results the subscription) is the first thing written once connected.
 *
 * <p>Back-pressure: the connection's write buffer has water marks of {@link #WATER_MARK}; above
 * the high one the link is not writable, {@link #trySend} says so and {@link #send} waits until
 * it drains below the low one (the receiver reads on), so a slow consumer slows the sender and
 * nothing is dropped or reordered. A push link that broke (the peer restarted) is dialled again
 * by the next {@link #send}.
 */
public final class DataLink implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(DataLink.class.getName());
  /**
   * Plaintext handed to the TLS engine per call. Netty's default, one 16 KB record's worth, makes a
   * frame of a few hundred KB a dozen engine calls and output buffers; at 256 KB the engine writes
   * those records in one call. Measured in section (a) of {@code shoal bench dataplane} (two
   * alternating pairs): TLS per link 0.14 / 0.11 ms against 0.17 / 0.22 ms at 16 KB.
   */
  static final int TLS_WRAP_BYTES = 256 << 10;

  /** Write-buffer water marks of every data connection, both ends: 512 KiB low, 2 MiB high. */
  static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(512 << 10, 2 << 20);
  private static final int CONNECT_MILLIS = 10_000;

  /** What the other end said, on the loop thread: never block in these. */
  public interface Listener {
    /** The receiver rejected a frame (push links). */
    default void rejected(long requestId, String error) {}

    /** A result for the coordinator (results links). */
    default void result(Frame result) {}

    /** The connection ended, or was refused, or could not be made. */
    default void broken(String why) {}
  }

  private final String peerName;
  private final GrpcChannels.HostPort address;
  private final PeerSecurity security;
  private final int maxBodyBytes;
  private final DataLoop loop;
  private final DataHello hello;
  private final Long epoch;
  private final Listener listener;
  private final Object lock = new Object();
  /** The current connection, null before the first; guarded by lock. */
  private Channel channel;
  /** Connected (with TLS: handshake done) and the hello written: frames may follow. */
  private volatile boolean ready;
  private volatile boolean broken;
  private volatile String brokenWhy;
  private volatile boolean closed;

  private DataLink(String peerName, String address, PeerSecurity security, int maxFrameBytes, DataLoop loop,
      DataHello.Purpose purpose, Long epoch, Listener listener) {
    this.peerName = peerName;
    this.address = GrpcChannels.HostPort.parse(address);
    if (!security.tls()) {
      GrpcChannels.requireLoopback(this.address.host(), "dial");
    }
    this.security = security;
    this.maxBodyBytes = maxBodyBytes(maxFrameBytes);
    this.loop = loop;
    CoordinatorSession session = security.session();
    DataHello.Builder h = DataHello.newBuilder().setPurpose(purpose);
    if (session != null) {
      h.setSession(session.id()).setHolder(session.holder());
    }
    this.hello = h.build();
    this.epoch = epoch;
    this.listener = listener;
  }

  /** A link that pushes frames to the worker {@code peerName} at {@code address} (its data port); dials on first send. */
  public static DataLink push(String peerName, String address, PeerSecurity security, int maxFrameBytes, DataLoop loop,
      Listener listener) {
    return new DataLink(peerName, address, security, maxFrameBytes, loop, DataHello.Purpose.PUSH, null, listener);
  }

  /** Subscribes, now, to the results of {@code epoch} on the worker {@code peerName} at {@code address}. */
  public static DataLink results(String peerName, String address, PeerSecurity security, int maxFrameBytes,
      DataLoop loop, long epoch, Listener listener) {
    DataLink l = new DataLink(peerName, address, security, maxFrameBytes, loop, DataHello.Purpose.RESULTS, epoch,
        listener);
    synchronized (l.lock) {
      l.open();
    }
    return l;
  }

  static int maxBodyBytes(int maxFrameBytes) {
    return (int) Math.min(Integer.MAX_VALUE, (long) maxFrameBytes + GrpcChannels.HEADER_SLACK);
  }

  /**
   * The data connections' pipeline, both ends: TLS (unless plaintext), flush consolidation,
   * framing, the handler. Frames written in one turn of the loop leave with one flush: a flush
   * while the connection reads is held until the read batch ends, and one from elsewhere (a write
   * from another thread, or one made while the loop handles another connection's read, as when a
   * stage computes inline and sends on) runs once the loop's current work is done. So TLS
   * encrypts, and the socket takes, a turn's frames together. {@code aliasPayloads}: see
   * {@link DataCodec}.
   */
  static void pipeline(Channel ch, SslHandler tls, int maxBodyBytes, boolean aliasPayloads, ChannelHandler handler) {
    if (tls != null) {
      tls.setWrapDataSize(TLS_WRAP_BYTES);
      ch.pipeline().addLast(tls);
    }
    ch.pipeline().addLast(new FlushConsolidationHandler(FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES,
        true), new DataCodec(maxBodyBytes, aliasPayloads), handler);
  }

  /** The HOST:PORT this link dials. */
  public String address() {
    return address.toString();
  }

  /**
   * Sends one frame, dialling first if there is no connection and waiting while the link is not
   * writable. Not on the loop thread (it would wait for itself).
   *
   * @throws IOException when the link cannot be made, breaks, is closed, or stays unwritable past the timeout
   */
  public void send(Frame frame, long timeoutMillis) throws IOException {
    if (loop.inLoop()) {
      throw new IllegalStateException("a blocking send on the data loop would wait for itself");
    }
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    Channel ch;
    synchronized (lock) {
      if (closed) {
        throw new IOException("link to " + peerName + " at " + address + " closed");
      }
      if (channel == null || broken) {
        open();
      }
      ch = channel;
      while (!ready || !ch.isWritable()) {
        if (closed || broken) {
          throw new IOException("link to " + peerName + " at " + address + " broke while waiting to send request "
              + frame.getRequestId() + ": " + brokenWhy);
        }
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          throw new IOException("link to " + peerName + " at " + address + " not " + (ready ? "writable" : "connected")
              + " for " + timeoutMillis + " ms");
        }
        try {
          lock.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while waiting to send", e);
        }
      }
    }
    ch.writeAndFlush(new DataMessage.FrameMessage(frame), ch.voidPromise());
  }

  /**
   * Sends one frame if the link can take it now, without waiting and without dialling.
   *
   * @return false when it cannot (not connected yet, not writable, broken, closed): {@link #send} it
   */
  public boolean trySend(Frame frame) {
    Channel ch = channel;
    if (closed || broken || !ready || ch == null || !ch.isWritable()) {
      return false;
    }
    ch.writeAndFlush(new DataMessage.FrameMessage(frame), ch.voidPromise());
    return true;
  }

  /** Dials (lock held). */
  private void open() {
    ready = false;
    broken = false;
    brokenWhy = null;
    // the TLS context is made here, on the dialling thread: the first one for a peer takes long
    // enough to hold up the data loop, where the channel is set up
    SslContext tls = security.tls() ? security.clientContext(peerName) : null;
    Bootstrap b = new Bootstrap().group(loop.group()).channel(loop.channel())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.ALLOCATOR, DataLoop.ALLOCATOR)
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_MILLIS)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            pipeline(ch, tls == null ? null : tls.newHandler(ch.alloc(), address.host(), address.port()), maxBodyBytes, false,
                new Handler());
          }
        });
    ChannelFuture f = b.connect(address.host(), address.port());
    Channel ch = f.channel();
    channel = ch;
    f.addListener(done -> {
      if (!done.isSuccess()) {
        ended(ch, "cannot connect: " + done.cause().getMessage());
      }
    });
  }

  private void ended(Channel ch, String why) {
    boolean report;
    synchronized (lock) {
      report = channel == ch && !broken;
      if (report) {
        broken = true;
        ready = false;
        brokenWhy = why;
      }
      lock.notifyAll();
    }
    if (report && !closed) {
      listener.broken(why);
    }
  }

  private void wake() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  @Override
  public void close() {
    Channel ch;
    synchronized (lock) {
      closed = true;
      ch = channel;
      lock.notifyAll();
    }
    if (ch != null) {
      ch.close();
    }
  }

  /** One connection's events, on the loop thread. */
  private final class Handler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      ctx.write(new DataMessage.Hello(hello), ctx.voidPromise());
      if (epoch != null) {
        ctx.write(new DataMessage.Subscribe(ResultsRequest.newBuilder().setPlanEpoch(epoch).build()), ctx.voidPromise());
      }
      ctx.flush(); // with TLS the hello waits in the SslHandler for the handshake
      if (ctx.pipeline().get(SslHandler.class) == null) {
        ready(ctx.channel());
      }
      super.channelActive(ctx);
    }

    private void ready(Channel ch) {
      synchronized (lock) {
        if (channel == ch) {
          ready = true;
        }
        lock.notifyAll();
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      DataMessage m = (DataMessage) msg;
      if (m instanceof DataMessage.AckMessage a && epoch == null) {
        if (!a.body().getAccepted()) {
          listener.rejected(a.body().getRequestId(), a.body().getError());
        }
      } else if (m instanceof DataMessage.FrameMessage f && epoch != null) {
        listener.result(f.body());
      } else if (m instanceof DataMessage.Refused r) {
        LOG.warning(() -> "worker " + peerName + " at " + address + " refused the data connection: "
            + r.body().getReason());
        ended(ctx.channel(), "refused: " + r.body().getReason());
      } else {
        throw new DataProtocolException("a " + DataMessage.kindName(m.kind()) + " from worker " + peerName + " on a "
            + (epoch != null ? "results" : "push") + " link");
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent e) {
        if (e.isSuccess()) {
          ready(ctx.channel());
        } else {
          ended(ctx.channel(), "TLS handshake failed: " + e.cause().getMessage());
        }
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
      wake();
      super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      ended(ctx.channel(), "connection closed");
      super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (cause instanceof DataProtocolException) {
        LOG.warning(() -> "data link to " + peerName + " at " + address + " closed, protocol error: "
            + cause.getMessage());
      } else {
        LOG.fine(() -> "data link to " + peerName + " at " + address + " failed: " + cause);
      }
      ended(ctx.channel(), String.valueOf(cause.getMessage()));
      ctx.close();
    }
  }
}
