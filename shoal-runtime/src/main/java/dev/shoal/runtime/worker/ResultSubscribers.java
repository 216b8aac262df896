package dev.shoal.runtime.worker;

import dev.shoal.runtime.wire.proto.Frame;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The coordinators listening for a last stage's results, one per plan epoch. Delivery honours flow
 * control: a slow subscriber makes the stage wait, which backs up its queue and its senders.
 */
final class ResultSubscribers {
  private final Map<Long, ServerCallStreamObserver<Frame>> byEpoch = new ConcurrentHashMap<>();
  private final Object lock = new Object();

  void subscribe(long epoch, ServerCallStreamObserver<Frame> observer) {
    observer.setOnReadyHandler(this::wake);
    observer.setOnCancelHandler(() -> {
      byEpoch.remove(epoch, observer);
      wake();
    });
    synchronized (lock) {
      ServerCallStreamObserver<Frame> old = byEpoch.put(epoch, observer);
      if (old != null && !old.isCancelled()) {
        old.onCompleted();
      }
    }
  }

  /** Sends a result; false when no one listens for its epoch, or is ready, within the timeout. */
  boolean deliver(Frame result, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    synchronized (lock) {
      while (true) {
        // With no subscriber yet, wait: the coordinator subscribes right after deploying, and
        // its first frames may overtake its subscription.
        ServerCallStreamObserver<Frame> o = byEpoch.get(result.getPlanEpoch());
        if (o != null && !o.isCancelled() && o.isReady()) {
          o.onNext(result);
          return true;
        }
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          return false;
        }
        lock.wait(left);
      }
    }
  }

  /** Ends the subscriptions of epochs other than {@code keep}. */
  void retainOnly(long keep) {
    synchronized (lock) {
      byEpoch.entrySet().removeIf(e -> {
        if (e.getKey() != keep) {
          if (!e.getValue().isCancelled()) {
            e.getValue().onCompleted();
          }
          return true;
        }
        return false;
      });
    }
  }

  private void wake() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }
}
