package dev.shoal.runtime.wire;

import io.grpc.netty.shaded.io.netty.buffer.ByteBufAllocator;
import io.grpc.netty.shaded.io.netty.buffer.PooledByteBufAllocator;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.FastThreadLocalThread;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * One event-loop thread that a node's data connections share: on a worker its {@link DataServer}
 * and all its {@link DataLink}s to peers, on a coordinator its links to the workers. A frame read
 * on it can be computed on it and its outputs written from it: a write from a channel's own event
 * loop needs no wake-up of another thread, so a hop costs the wire, not thread hand-offs. The
 * control plane (gRPC) runs on threads of its own.
 */
public final class DataLoop implements AutoCloseable {
  /**
   * The data connections' buffers: pooled, direct. Netty's default (adaptive) allocator serves
   * buffers over its size classes — a frame of a few hundred KB, the TLS records it is gathered
   * from — with a fresh {@code ByteBuffer.allocateDirect} each time, which the JDK zeroes and the
   * kernel backs with new pages: profiled, that was the largest cost of a hop besides ONNX Runtime
   * and above the decryption itself. Pooled, a frame's buffer is reused memory (up to the pool's
   * 4 MiB chunks; larger frames are still allocated one by one). The gateway's HTTP connections
   * take their request bodies from it too, for the same reason.
   */
  public static final ByteBufAllocator ALLOCATOR = new PooledByteBufAllocator(true);

  private final boolean epoll = Epoll.isAvailable();
  private final EventLoopGroup group;

  /**
   * @param threadName the loop thread's name (a daemon)
   * @param stackBytes its stack: work run on it may need more than the default (ONNX Runtime does)
   */
  public DataLoop(String threadName, long stackBytes) {
    ThreadFactory thread = r -> {
      Thread t = new FastThreadLocalThread(null, r, threadName, stackBytes);
      t.setDaemon(true);
      return t;
    };
    this.group = new MultiThreadIoEventLoopGroup(1, thread,
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
  }

  /** True on the loop's thread. */
  public boolean inLoop() {
    return group.next().inEventLoop();
  }

  /** The loop, for other channels that should share its thread (the gateway's HTTP server). */
  public EventLoopGroup group() {
    return group;
  }

  public Class<? extends ServerChannel> serverChannel() {
    return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  Class<? extends SocketChannel> channel() {
    return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
