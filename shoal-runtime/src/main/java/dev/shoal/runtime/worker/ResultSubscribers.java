package dev.shoal.runtime.worker;

import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.DataServer;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The coordinators listening for what this worker's stages send them (responses, merge members,
 * errors), one results connection per plan epoch. Delivery honours back-pressure: a subscriber
 * whose connection is above its write buffer's high water mark makes the stage wait, which backs
 * up its queue and its senders. An epoch whose subscriber went away (the
 * coordinator retired the epoch, or is gone) takes nothing more: its results are dropped at once
 * rather than holding the stage.
 */
final class ResultSubscribers {
  private final Map<Long, DataServer.Subscriber> byEpoch = new ConcurrentHashMap<>();
  private final Set<Long> ended = ConcurrentHashMap.newKeySet();
  private final Object lock = new Object();

  void subscribe(long epoch, DataServer.Subscriber observer) {
    observer.onWritable(this::wake);
    observer.onClosed(() -> {
      if (byEpoch.remove(epoch, observer)) {
        ended.add(epoch);
      }
      wake();
    });
    synchronized (lock) {
      ended.remove(epoch);
      DataServer.Subscriber old = byEpoch.put(epoch, observer);
      if (old != null && old.open()) {
        old.end();
      }
      lock.notifyAll();
    }
  }

  /** What became of a result offered without waiting. */
  enum Delivery {
    SENT,
    /** Its epoch's subscriber went away: nobody will take it. */
    NO_SUBSCRIBER,
    /** No subscriber yet, or it cannot take more now: deliver it with {@link #deliver}. */
    NOT_NOW
  }

  /** Sends a result if its subscriber can take it now; never waits. */
  Delivery tryDeliver(Frame result) {
    synchronized (lock) {
      return offer(result);
    }
  }

  /**
   * Sends a result; false when its epoch's subscriber went away, or when none listens or is ready
   * within the timeout.
   */
  boolean deliver(Frame result, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    synchronized (lock) {
      while (true) {
        // With no subscriber yet, wait: the coordinator subscribes right after deploying, and
        // its first frames may overtake its subscription.
        Delivery d = offer(result);
        if (d != Delivery.NOT_NOW) {
          return d == Delivery.SENT;
        }
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          return false;
        }
        lock.wait(left);
      }
    }
  }

  private Delivery offer(Frame result) {
    if (ended.contains(result.getPlanEpoch())) {
      return Delivery.NO_SUBSCRIBER;
    }
    DataServer.Subscriber o = byEpoch.get(result.getPlanEpoch());
    if (o != null && o.open() && o.writable()) {
      o.send(result);
      return Delivery.SENT;
    }
    return Delivery.NOT_NOW;
  }

  /** Ends the subscription of an epoch whose stages are gone. */
  void end(long epoch) {
    synchronized (lock) {
      ended.add(epoch);
      DataServer.Subscriber o = byEpoch.remove(epoch);
      if (o != null && o.open()) {
        o.end();
      }
      lock.notifyAll();
    }
  }

  private void wake() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }
}
