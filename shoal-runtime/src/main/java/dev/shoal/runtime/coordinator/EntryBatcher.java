package dev.shoal.runtime.coordinator;

import dev.shoal.plan.graph.Batching;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Dynamic batching at a plan's entry, with Triton's semantics: requests wait in a queue; as soon as
 * the queued requests make one of the preferred batch sizes (rows along dimension 0; without
 * preferred sizes, the max batch size) the largest such batch leaves at once; a batch that cannot
 * grow (the next request would take it past the max) leaves at once too; otherwise the oldest
 * request waits at most the max queue delay, then whatever is queued leaves (up to the max). Only
 * requests whose other dimensions agree share a batch; a request larger than the max batch size
 * never enters the queue (the caller sends it alone).
 *
 * @param <T> what is batched (the coordinator's pending requests)
 */
final class EntryBatcher<T> {

  /** A queued request: its rows, the key of its non-batch dimensions, when it arrived. */
  private record Item<T>(T value, int rows, String shapeKey, long enqueuedNanos) {}

  private final Batching batching;
  private final ScheduledExecutorService timer;
  private final Predicate<T> alive;
  private final Consumer<List<T>> sink;
  private final LinkedList<Item<T>> queue = new LinkedList<>();
  private ScheduledFuture<?> flush;

  /**
   * @param alive whether a queued request still wants an answer (cancelled or expired ones are dropped)
   * @param sink takes each batch, in order (called with this batcher's lock held: it must not block)
   */
  EntryBatcher(Batching batching, ScheduledExecutorService timer, Predicate<T> alive, Consumer<List<T>> sink) {
    if (!batching.enabled()) {
      throw new IllegalArgumentException("batching is off (max batch size 1)");
    }
    this.batching = batching;
    this.timer = timer;
    this.alive = alive;
    this.sink = sink;
  }

  Batching batching() {
    return batching;
  }

  /** Queues a request of {@code rows} rows (at most the max batch size) and sends what is due. */
  synchronized void offer(T value, int rows, String shapeKey) {
    if (rows < 1 || rows > batching.maxBatchSize()) {
      throw new IllegalArgumentException("a request of " + rows + " rows does not enter a batch of at most "
          + batching.maxBatchSize());
    }
    queue.add(new Item<>(value, rows, shapeKey, System.nanoTime()));
    release();
  }

  private synchronized void onTimer() {
    flush = null;
    release();
  }

  /** Sends every batch that is due, then arms the timer for the oldest request left. */
  private void release() {
    long delayNanos = batching.maxQueueDelayMicros() * 1_000;
    while (true) {
      queue.removeIf(i -> !alive.test(i.value()));
      if (queue.isEmpty()) {
        return;
      }
      Item<T> head = queue.getFirst();
      List<Item<T>> compatible = queue.stream().filter(i -> i.shapeKey().equals(head.shapeKey())).toList();
      boolean expired = System.nanoTime() - head.enqueuedNanos() >= delayNanos;
      int take = batchNow(compatible.stream().map(Item::rows).toList(), expired, batching);
      if (take == 0) {
        if (flush == null) {
          long wait = head.enqueuedNanos() + delayNanos - System.nanoTime();
          flush = timer.schedule(this::onTimer, Math.max(0, wait), TimeUnit.NANOSECONDS);
        }
        return;
      }
      List<T> batch = new ArrayList<>(take);
      Iterator<Item<T>> it = queue.iterator();
      while (batch.size() < take) {
        Item<T> i = it.next();
        if (i.shapeKey().equals(head.shapeKey())) {
          batch.add(i.value());
          it.remove();
        }
      }
      sink.accept(batch);
    }
  }

  /**
   * How many of the queued requests (in arrival order, all of one shape) leave now as one batch; 0:
   * wait for more.
   *
   * @param rows each queued request's rows, oldest first (each at most the max batch size)
   * @param delayExpired whether the oldest has waited the max queue delay
   */
  static int batchNow(List<Integer> rows, boolean delayExpired, Batching b) {
    int fits = 0;
    int sum = 0;
    int preferred = 0;
    for (int r : rows) {
      if (sum + r > b.maxBatchSize()) {
        break;
      }
      sum += r;
      fits++;
      if (b.preferredBatchSizes().isEmpty() ? sum == b.maxBatchSize() : b.preferredBatchSizes().contains(sum)) {
        preferred = fits;
      }
    }
    if (preferred > 0) {
      return preferred;
    }
    boolean full = fits < rows.size(); // the next request would not fit: the batch cannot grow
    return delayExpired || full ? fits : 0;
  }
}
