package dev.shoal.runtime.wire;

import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.FastThreadLocalThread;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * One event-loop thread that a worker's data server and all its links to peers share. A frame
 * read on it can be computed on it and its outputs written from it: a write from a channel's own
 * event loop needs no wake-up of another thread (Netty queues gRPC's flush on the running loop
 * without an eventfd write), so a hop costs the wire, not four thread hand-offs.
 * Heartbeat connections stay off it ({@link GrpcChannels#heartbeatClient}).
 */
public final class DataLoop implements AutoCloseable {
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

  void serve(NettyServerBuilder b) {
    b.bossEventLoopGroup(group).workerEventLoopGroup(group)
        .channelType(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class);
  }

  void dial(NettyChannelBuilder b) {
    b.eventLoopGroup(group).channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class);
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
