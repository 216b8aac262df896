package dev.shoal.runtime.wire;

import dev.shoal.runtime.wire.proto.Ack;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.StageDataGrpc;
import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;

/**
 * The sending end of one link: a {@code StageData.Push} stream that honours gRPC flow control,
 * so a slow receiver (full queue, slow link) blocks {@link #send} instead of piling up memory.
 * A broken stream is reopened on the next send.
 */
public final class FrameStream implements AutoCloseable {

  /** What the receiver told us about frames, and stream failures. */
  public interface Listener {
    void rejected(long requestId, String error);

    void broken(Throwable cause);
  }

  private final StageDataGrpc.StageDataStub stub;
  private final Listener listener;
  private final Object lock = new Object();
  private ClientCallStreamObserver<Frame> call;
  private boolean callBroken;
  private boolean closed;

  public FrameStream(Channel channel, Listener listener) {
    this.stub = StageDataGrpc.newStub(channel);
    this.listener = listener;
  }

  /**
   * Sends one frame, waiting while the link is not ready.
   *
   * @throws IOException when the stream breaks, is closed, or stays unready past the timeout
   */
  public void send(Frame frame, long timeoutMillis) throws IOException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    synchronized (lock) {
      if (closed) {
        throw new IOException("link closed");
      }
      if (call == null || callBroken) {
        open();
      }
      ClientCallStreamObserver<Frame> current = call;
      while (!current.isReady()) {
        if (closed || callBroken) {
          throw new IOException("link broke while waiting to send request " + frame.getRequestId());
        }
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          throw new IOException("link not ready for " + timeoutMillis + " ms");
        }
        try {
          lock.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while waiting to send", e);
        }
      }
      current.onNext(frame);
    }
  }

  /**
   * Sends one frame if the link can take it now, without waiting.
   *
   * @return false when the link is not ready (flow control, not yet open, broken, closed): send it
   *     another way
   */
  public boolean trySend(Frame frame) {
    synchronized (lock) {
      if (closed) {
        return false;
      }
      if (call == null || callBroken) {
        open();
      }
      if (!call.isReady()) {
        return false;
      }
      call.onNext(frame);
      return true;
    }
  }

  private void open() {
    callBroken = false;
    stub.push(new ClientResponseObserver<Frame, Ack>() {
      private ClientCallStreamObserver<Frame> mine;

      @Override
      public void beforeStart(ClientCallStreamObserver<Frame> requestStream) {
        mine = requestStream;
        call = requestStream;
        requestStream.setOnReadyHandler(() -> {
          synchronized (lock) {
            lock.notifyAll();
          }
        });
      }

      @Override
      public void onNext(Ack ack) {
        if (!ack.getAccepted()) {
          listener.rejected(ack.getRequestId(), ack.getError());
        }
      }

      @Override
      public void onError(Throwable t) {
        ended();
        listener.broken(t);
      }

      @Override
      public void onCompleted() {
        ended();
      }

      private void ended() {
        synchronized (lock) {
          if (call == mine) {
            callBroken = true;
          }
          lock.notifyAll();
        }
      }
    });
  }

  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      if (call != null && !callBroken) {
        call.cancel("link closed", null);
      }
      lock.notifyAll();
    }
  }
}
