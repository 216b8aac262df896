package dev.shoal.runtime.coordinator;

import dev.shoal.runtime.wire.proto.HeartbeatReply;
import dev.shoal.runtime.wire.proto.HeartbeatRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Heartbeats every worker every {@link #INTERVAL_MILLIS} with a {@link #DEADLINE_MILLIS} deadline.
 * A worker that refuses or drops the call (a killed process: connection refused or reset; or a
 * worker leased to another coordinator) is declared down after {@link #MISSES} such beats in a
 * row, within about MISSES x INTERVAL. A worker that merely does not answer in time, its
 * connection still open, is declared down only after {@link #SILENCE_MILLIS} without an answer:
 * on a loaded host a healthy worker's stop-the-world GC pauses were measured at up to 1.4 s
 * (HeartbeatUnderLoadTest), and declaring it dead then re-plans for nothing. A frozen or cut-off
 * worker is therefore found within SILENCE_MILLIS + DEADLINE. Down workers keep being probed, and
 * one that answers again is up. Heartbeats should travel on channels of their own
 * ({@code GrpcChannels#heartbeatClient}) and a timer of their own; both belong to the caller.
 */
public final class HeartbeatMonitor {
  public static final long INTERVAL_MILLIS = 100;
  public static final long DEADLINE_MILLIS = 300;
  public static final int MISSES = 2;
  /** Silence (no answer, connection open) before a worker is declared down: as long as a worker lease. */
  public static final long SILENCE_MILLIS = dev.shoal.runtime.security.WorkerLease.LEASE_MILLIS;

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
    /** The data port its last heartbeat announced; 0 before the first answer. */
    volatile int dataPort;

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
        HeartbeatReply r = WorkerControlGrpc.newBlockingStub(t.channel)
            .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
            .heartbeat(HeartbeatRequest.newBuilder().setSequence(sequence.incrementAndGet()).build());
        t.dataPort = r.getDataPort();
        t.lastSeenNanos = System.nanoTime();
      } catch (io.grpc.StatusRuntimeException e) {
        fail(t, "no answer at start: " + e.getMessage(), true);
      }
    }
  }

  public void start() {
    // silence counts from now: the deployment between connect() and here may take long on a busy host
    long now = System.nanoTime();
    workers.values().forEach(t -> t.lastSeenNanos = now);
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

  /**
   * HOST:PORT of a worker's data port: the endpoint's own when it names one, else its control
   * address's host with the port its heartbeats announce; null before it answered one.
   */
  public String dataAddress(WorkerEndpoint w) {
    if (w.dataAddress() != null) {
      return w.dataAddress();
    }
    Tracked t = workers.get(w.name());
    if (t == null || t.dataPort == 0) {
      return null;
    }
    return dev.shoal.runtime.wire.GrpcChannels.HostPort.parse(w.address()).host() + ":" + t.dataPort;
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
                t.dataPort = reply.getDataPort(); // a restarted worker may have another
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
                boolean late = Status.fromThrowable(e).getCode() == Status.Code.DEADLINE_EXCEEDED;
                long silentMillis = (System.nanoTime() - t.lastSeenNanos) / 1_000_000;
                fail(t, late ? "no heartbeat answered for " + silentMillis + " ms: " + e.getMessage()
                    : "heartbeat failed " + t.misses + "x: " + e.getMessage(),
                    late ? silentMillis >= SILENCE_MILLIS : t.misses >= MISSES);
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
