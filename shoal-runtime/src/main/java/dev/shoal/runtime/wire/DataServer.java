package dev.shoal.runtime.wire;

import dev.shoal.runtime.security.PeerAuthorization;
import dev.shoal.runtime.security.PeerIdentity;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.wire.proto.Ack;
import dev.shoal.runtime.wire.proto.DataHello;
import dev.shoal.runtime.wire.proto.DataRefused;
import dev.shoal.runtime.wire.proto.Frame;
import io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelFutureListener;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * A worker's data port: framed messages ({@link DataCodec}) under mutual TLS with the node's
 * cluster credentials, on the worker's {@link DataLoop}. Each connection opens with a hello; the
 * {@link Service} admits it or gives the reason it is refused, which the peer is sent before the
 * connection closes. A push connection then brings frames, taken on the loop thread one read at a
 * time: while the service holds one back (its stage's queue is full) the connection reads nothing
 * more, so the sender's TCP window and write buffer fill and it slows down; nothing is dropped or
 * reordered. A results connection subscribes to one epoch and gets that epoch's results.
 *
 * <p>Failed TLS handshakes and refused hellos count as {@link #refused()}; bytes that are not the
 * protocol as {@link #protocolErrors()}: either is logged with the peer's address and what was
 * wrong, and the connection is closed. The worker keeps serving.
 */
public final class DataServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(DataServer.class.getName());

  /** What the worker does with its data connections; called on the loop thread, never blocking. */
  public interface Service {
    /** Why {@code peer} may not open a connection for what its hello says, or null to admit it. */
    String admit(PeerIdentity peer, DataHello hello);

    /**
     * Takes a frame from a push connection. {@code next} lets the connection read on; it must run
     * exactly once, on any thread (at once unless the frame has to wait for room). The frame's
     * payloads are views of the receive buffer ({@link DataCodec}): decode them before returning,
     * and keep nothing of the frame's bytes.
     *
     * @return why the frame is rejected (the sender is told in an Ack), or null
     */
    String push(Frame frame, Runnable next);

    /** A coordinator subscribes to the results of {@code epoch} through {@code subscriber}. */
    void subscribe(long epoch, Subscriber subscriber);
  }

  /** The worker's end of a results connection. */
  public static final class Subscriber {
    private final Channel channel;

    Subscriber(Channel channel) {
      this.channel = channel;
    }

    /** True until the connection closes. */
    public boolean open() {
      return channel.isActive();
    }

    /** True while the connection's write buffer is under its high water mark. */
    public boolean writable() {
      return channel.isWritable();
    }

    /** Sends a result (queued on the loop when called from another thread). */
    public void send(Frame result) {
      channel.writeAndFlush(new DataMessage.FrameMessage(result), channel.voidPromise());
    }

    /** Closes the connection once what was sent before has left. */
    public void end() {
      channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    /** Runs {@code r} on the loop each time the connection becomes writable again. */
    public void onWritable(Runnable r) {
      channel.pipeline().get(Connection.class).onWritable = r;
    }

    /** Runs {@code r} once the connection has closed. */
    public void onClosed(Runnable r) {
      channel.closeFuture().addListener(f -> r.run());
    }
  }

  private final PeerSecurity security;
  private final Service service;
  private final int maxBodyBytes;
  private final Channel listening;
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong protocolErrors = new AtomicLong();

  private DataServer(String host, int port, PeerSecurity security, int maxFrameBytes, DataLoop loop, Service service)
      throws IOException {
    this.security = security;
    this.service = service;
    this.maxBodyBytes = DataLink.maxBodyBytes(maxFrameBytes);
    ServerBootstrap b = new ServerBootstrap().group(loop.group()).channel(loop.serverChannel())
        // a restarted worker must get its port back while the killed one's sockets linger
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.ALLOCATOR, DataLoop.ALLOCATOR)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, DataLink.WATER_MARK)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            DataLink.pipeline(ch, security.tls() ? security.serverContext().newHandler(ch.alloc()) : null,
                maxBodyBytes, true, new Connection());
          }
        });
    try {
      this.listening = b.bind(new InetSocketAddress(host, port)).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while binding the data port " + host + ":" + port, e);
    } catch (Exception e) {
      throw new IOException("cannot bind the data port " + host + ":" + port + ": " + e.getMessage(), e);
    }
  }

  /**
   * Binds the data port; {@code port} 0 picks a free one ({@link #port()} tells which). Plaintext
   * (the TLS-overhead baseline) binds loopback only.
   */
  public static DataServer start(String host, int port, PeerSecurity security, int maxFrameBytes, DataLoop loop,
      Service service) throws IOException {
    if (!security.tls()) {
      GrpcChannels.requireLoopback(host, "listen on");
    }
    return new DataServer(host, port, security, maxFrameBytes, loop, service);
  }

  public int port() {
    return ((InetSocketAddress) listening.localAddress()).getPort();
  }

  /** Connections refused: failed TLS handshakes and hellos the service did not admit. */
  public long refused() {
    return refused.get();
  }

  /** Connections closed for bytes that are not the protocol. */
  public long protocolErrors() {
    return protocolErrors.get();
  }

  @Override
  public void close() {
    listening.close().syncUninterruptibly();
  }

  /** What one connection is for and how far it got; runs on the loop thread only. */
  private final class Connection extends ChannelInboundHandlerAdapter {
    private DataHello.Purpose purpose;
    /** Who is at the other end, once its hello came. */
    private PeerIdentity peer;
    private boolean subscribed;
    /** Frames handed to the service whose {@code next} has not run yet: reading waits for them. */
    private int held;
    private volatile Runnable onWritable;

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess()
          && !(e.cause() instanceof ClosedChannelException)) { // a caller that hung up first was not refused
        refused.incrementAndGet();
        LOG.warning(() -> "data connection from " + ctx.channel().remoteAddress() + " refused: TLS handshake failed: "
            + e.cause().getMessage());
        ctx.close();
        return;
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      DataMessage m = (DataMessage) msg;
      if (purpose == DataHello.Purpose.PURPOSE_UNSPECIFIED) {
        return; // refused: closing
      }
      if (purpose == null) {
        if (!(m instanceof DataMessage.Hello hello)) {
          throw new DataProtocolException("a " + DataMessage.kindName(m.kind()) + " before the hello");
        }
        hello(ctx, hello.body());
      } else if (purpose == DataHello.Purpose.PUSH && m instanceof DataMessage.FrameMessage f) {
        push(ctx, f.body());
      } else if (purpose == DataHello.Purpose.RESULTS && !subscribed && m instanceof DataMessage.Subscribe s) {
        subscribed = true;
        service.subscribe(s.body().getPlanEpoch(), new Subscriber(ctx.channel()));
      } else {
        throw new DataProtocolException("a " + DataMessage.kindName(m.kind()) + " on a "
            + purpose.name().toLowerCase(java.util.Locale.ROOT) + " connection" + (subscribed ? " already subscribed" : ""));
      }
    }

    private void hello(ChannelHandlerContext ctx, DataHello hello) {
      String why;
      PeerIdentity peer = null;
      try {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        peer = ssl != null ? PeerAuthorization.fromTls(ssl.engine().getSession())
            : PeerAuthorization.plaintextPeer(!hello.getSession().isEmpty());
        why = hello.getPurpose() == DataHello.Purpose.PUSH || hello.getPurpose() == DataHello.Purpose.RESULTS
            ? service.admit(peer, hello) : "the hello names no purpose (push or results)";
      } catch (IllegalArgumentException e) {
        why = e.getMessage();
      }
      if (why != null) {
        refused.incrementAndGet();
        String reason = why;
        PeerIdentity who = peer;
        LOG.warning(() -> "data connection from " + (who == null ? "" : who + " at ") + ctx.channel().remoteAddress()
            + " refused: " + reason);
        ctx.writeAndFlush(new DataMessage.Refused(DataRefused.newBuilder().setReason(why).build()))
            .addListener(ChannelFutureListener.CLOSE);
        ctx.channel().config().setAutoRead(false);
        purpose = DataHello.Purpose.PURPOSE_UNSPECIFIED; // whatever still comes is not looked at
        return;
      }
      purpose = hello.getPurpose();
      this.peer = peer;
    }

    private void push(ChannelHandlerContext ctx, Frame frame) {
      held++;
      AtomicBoolean once = new AtomicBoolean();
      Channel ch = ctx.channel();
      Runnable next = () -> {
        if (!once.compareAndSet(false, true)) {
          return;
        }
        if (ch.eventLoop().inEventLoop()) {
          readOn(ch);
        } else {
          ch.eventLoop().execute(() -> readOn(ch));
        }
      };
      String refusal = service.push(frame, next);
      if (refusal != null) {
        ctx.writeAndFlush(new DataMessage.AckMessage(Ack.newBuilder().setRequestId(frame.getRequestId())
            .setAccepted(false).setError(refusal).build()), ctx.voidPromise());
      }
      if (held > 0) {
        ch.config().setAutoRead(false);
      }
    }

    private void readOn(Channel ch) {
      if (--held == 0 && ch.isActive()) {
        ch.config().setAutoRead(true);
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
      Runnable r = onWritable;
      if (r != null && ctx.channel().isWritable()) {
        r.run();
      }
      super.channelWritabilityChanged(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (cause instanceof DataProtocolException) {
        protocolErrors.incrementAndGet();
        PeerIdentity who = peer;
        LOG.warning(() -> "data connection from " + (who == null ? "" : who + " at ") + ctx.channel().remoteAddress()
            + " closed, protocol error: " + cause.getMessage());
      } else {
        LOG.fine(() -> "data connection from " + ctx.channel().remoteAddress() + " failed: " + cause);
      }
      ctx.close();
    }
  }
}
