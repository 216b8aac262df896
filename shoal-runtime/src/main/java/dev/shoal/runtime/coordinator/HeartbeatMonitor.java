package dev.shoal.runtime.coordinator;

import dev.shoal.runtime.wire.proto.HeartbeatReply;
import dev.shoal.runtime.wire.proto.HeartbeatRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Heartbeats every worker every {@link #INTERVAL_MILLIS} with a {@link #DEADLINE_MILLIS} deadline;
 * {@link #MISSES} failed beats in a row declare it down, so a dead or unreachable worker is found
 * within MISSES x (DEADLINE + INTERVAL) + INTERVAL = 0.9 s at worst, and within about
 * MISSES x INTERVAL when its connection is refused (a killed process). Down workers keep being probed, and one that answers again is up. The
 * timer and the channels belong to the caller.
 */
public final class HeartbeatMonitor {
  public static final long INTERVAL_MILLIS = 100;
  public static final long DEADLINE_MILLIS = 300;
  public static final int MISSES = 2;

  /** Up/down changes; called on gRPC callback threads, so keep them short. */
  public interface Listener {
    void down(WorkerEndpoint worker, long lastSeenNanos, String why);

    void up(WorkerEndpoint worker);
  }

  private final class Tracked {
    final WorkerEndpoint endpoint;
    final ManagedChannel channel;
    final WorkerControlGrpc.WorkerControlStub stub;
    volatile boolean up = true;
    volatile int misses;
    volatile long lastSeenNanos = System.nanoTime();
    volatile boolean inFlight;
    volatile String downReason;

    Tracked(WorkerEndpoint endpoint, ManagedChannel channel) {
      this.endpoint = endpoint;
      this.channel = channel;
      this.stub = WorkerControlGrpc.newStub(channel);
    }
  }

  private final Map<String, Tracked> workers = new LinkedHashMap<>();
  private final ScheduledExecutorService timer;
  private final Listener listener;
  private final AtomicLong sequence = new AtomicLong();

  public HeartbeatMonitor(Map<WorkerEndpoint, ManagedChannel> channels, ScheduledExecutorService timer,
      Listener listener) {
    channels.forEach((w, ch) -> workers.put(w.name(), new Tracked(w, ch)));
    this.timer = timer;
    this.listener = listener;
  }

  /**
   * Connects to every worker and asks for one heartbeat with a generous deadline, so that
   * connection set-up is not mistaken for a failure; workers that do not answer start down.
   */
  public void connect(java.time.Duration timeout) {
    for (Tracked t : workers.values()) {
      try {
        WorkerControlGrpc.newBlockingStub(t.channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
            .heartbeat(HeartbeatRequest.newBuilder().setSequence(sequence.incrementAndGet()).build());
        t.lastSeenNanos = System.nanoTime();
      } catch (io.grpc.StatusRuntimeException e) {
        fail(t, "no answer at start: " + e.getMessage(), true);
      }
    }
  }

  public void start() {
    timer.scheduleAtFixedRate(this::beatAll, 0, INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** Live workers in cluster order. */
  public synchronized List<WorkerEndpoint> alive() {
    List<WorkerEndpoint> out = new ArrayList<>();
    for (Tracked t : workers.values()) {
      if (t.up) {
        out.add(t.endpoint);
      }
    }
    return out;
  }

  /** Why a worker was last declared down (e.g. another coordinator holds its lease), or null. */
  public String downReason(String name) {
    Tracked t = workers.get(name);
    return t == null ? null : t.downReason;
  }

  public boolean isUp(String name) {
    Tracked t = workers.get(name);
    return t != null && t.up;
  }

  /** Marks a worker down now (e.g. its deploy failed), without waiting for heartbeats. */
  public void markDown(WorkerEndpoint w, String why) {
    Tracked t = workers.get(w.name());
    if (t != null) {
      fail(t, why, true);
    }
  }

  private void beatAll() {
    for (Tracked t : workers.values()) {
      if (!t.inFlight) {
        beat(t);
      }
    }
  }

  private void beat(Tracked t) {
    t.inFlight = true;
    if (!t.up) {
      // A refused connection puts the channel into exponential back-off; probe a down worker promptly.
      t.channel.resetConnectBackoff();
    }
    t.stub.withDeadlineAfter(DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
        .heartbeat(HeartbeatRequest.newBuilder().setSequence(sequence.incrementAndGet()).build(),
            new StreamObserver<>() {
              @Override
              public void onNext(HeartbeatReply reply) {
                t.lastSeenNanos = System.nanoTime();
                t.misses = 0;
                boolean cameBack;
                synchronized (HeartbeatMonitor.this) {
                  cameBack = !t.up;
                  t.up = true;
                }
                if (cameBack) {
                  listener.up(t.endpoint);
                }
              }

              @Override
              public void onError(Throwable e) {
                t.inFlight = false;
                t.misses++;
                fail(t, "heartbeat failed " + t.misses + "x: " + e.getMessage(), t.misses >= MISSES);
              }

              @Override
              public void onCompleted() {
                t.inFlight = false;
              }
            });
  }

  private void fail(Tracked t, String why, boolean declare) {
    if (!declare) {
      return;
    }
    t.downReason = why;
    boolean wentDown;
    synchronized (this) {
      wentDown = t.up;
      t.up = false;
    }
    if (wentDown) {
      listener.down(t.endpoint, t.lastSeenNanos, why);
    }
  }
}
