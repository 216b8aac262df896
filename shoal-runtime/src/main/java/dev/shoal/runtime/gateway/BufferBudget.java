package dev.shoal.runtime.gateway;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Bytes of request bodies and decoded tensors the REST API may hold at once. A request that does
 * not fit waits in arrival order (its connection is not read meanwhile), so a burst of large bodies
 * queues instead of exhausting the heap. A small request (at most 1/64 of the budget) that fits
 * goes ahead of waiting large ones, so probes and ordinary requests are not stuck behind a burst.
 */
final class BufferBudget {

  /** A request waiting for its bytes; {@code granted} runs once they are reserved for it. */
  private record Waiter(long bytes, Runnable granted) {}

  private final long capacity;
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  private long used;

  BufferBudget(long capacity) {
    this.capacity = capacity;
  }

  /**
   * Reserves {@code bytes} now (true), or queues {@code granted} to run once they are reserved
   * (false; the caller then owns the bytes from inside {@code granted}, or cancels with
   * {@link #cancel}).
   */
  synchronized boolean reserveOrWait(long bytes, Runnable granted) {
    if (bytes > capacity) {
      throw new IllegalArgumentException(bytes + " bytes can never fit in a budget of " + capacity);
    }
    if (used + bytes <= capacity && (waiters.isEmpty() || bytes <= capacity / 64)) {
      used += bytes;
      return true;
    }
    waiters.add(new Waiter(bytes, granted));
    return false;
  }

  /** Drops a queued wait; false if it was already granted (the caller owns its bytes then). */
  synchronized boolean cancel(Runnable granted) {
    return waiters.removeIf(w -> w.granted() == granted);
  }

  void release(long bytes) {
    List<Runnable> toRun = new ArrayList<>();
    synchronized (this) {
      used -= bytes;
      while (!waiters.isEmpty() && used + waiters.peek().bytes() <= capacity) {
        Waiter w = waiters.poll();
        used += w.bytes();
        toRun.add(w.granted());
      }
    }
    toRun.forEach(Runnable::run);
  }

  synchronized long used() {
    return used;
  }
}
