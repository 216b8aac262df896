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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Heartbeats every worker every {@link #INTERVAL_MILLIS} on one long-lived stream per worker (a
 * request, answered on the stream, carrying the worker's counters for the metrics). A call per
 * beat, ten times a second, and the metrics' Status polls kept an idle cluster's five processes at
 * 30% of a core here; the stream, the slower beat and the counters on the answers at 19%
 * (docs/runtime.md, "What an idle cluster costs"). A process that dies breaks its stream at once,
 * so a worker whose stream fails is probed again at once and declared down after {@link #MISSES}
 * failed streams in a row (a killed process: the connection reset, then refused; or a worker
 * leased to another coordinator): within milliseconds, not beats. A worker that merely stops
 * answering, its connection still open, is declared down only after {@link #SILENCE_MILLIS}
 * without an answer: on a loaded host a healthy worker's stop-the-world GC pauses were measured at
 * up to 1.4 s (HeartbeatUnderLoadTest), and declaring it dead then re-plans for nothing. A frozen
 * or cut-off worker is therefore found within SILENCE_MILLIS + INTERVAL. Down workers keep being
 * probed every beat, and one that answers again is up. Heartbeats should travel on channels of
 * their own ({@code GrpcChannels#heartbeatClient}) and a timer of their own; both belong to the
 * caller.
 */
public final class HeartbeatMonitor {
  /** Between beats; each renews the worker's lease ({@code WorkerLease#LEASE_MILLIS}, six beats). */
  public static final long INTERVAL_MILLIS = 500;
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
    volatile String downReason;
    /** Its last heartbeat answer; null before the first. */
    volatile HeartbeatReply last;
    /** The open heartbeat stream; null until the next beat opens one. Only the timer sends on it. */
    volatile BeatStream stream;

    Tracked(WorkerEndpoint endpoint, ManagedChannel channel) {
      this.endpoint = endpoint;
      this.channel = channel;
      this.stub = WorkerControlGrpc.newStub(channel);
    }
  }

  /** One heartbeat stream to a worker, and its first answer (for {@link #connect}). */
  private final class BeatStream implements StreamObserver<HeartbeatReply> {
    final Tracked worker;
    final CompletableFuture<Void> firstAnswer = new CompletableFuture<>();
    private StreamObserver<HeartbeatRequest> requests;

    BeatStream(Tracked worker) {
      this.worker = worker;
    }

    /** Becomes the worker's stream, then starts the call (whose failure may come back at once). */
    BeatStream open() {
      worker.stream = this;
      requests = worker.stub.heartbeat(this);
      return this;
    }

    void send() {
      requests.onNext(HeartbeatRequest.newBuilder().setSequence(sequence.incrementAndGet()).build());
    }

    @Override
    public void onNext(HeartbeatReply reply) {
      Tracked t = worker;
      t.lastSeenNanos = System.nanoTime();
      t.misses = 0;
      t.last = reply; // a restarted worker may have another data port
      firstAnswer.complete(null);
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
      ended("heartbeat failed " + (worker.misses + 1) + "x: " + e.getMessage(), e);
    }

    @Override
    public void onCompleted() {
      ended("heartbeat failed " + (worker.misses + 1) + "x: the worker ended the stream", null);
    }

    private void ended(String why, Throwable cause) {
      Tracked t = worker;
      firstAnswer.completeExceptionally(cause != null ? cause : new IllegalStateException(why));
      if (t.stream != this) {
        return;
      }
      t.stream = null;
      t.misses++;
      boolean declare = t.misses >= MISSES;
      fail(t, why, declare);
      if (!declare && started) {
        // a broken stream is a dead process more often than not: the next stream says so at once
        try {
          timer.execute(() -> beat(t, System.nanoTime()));
        } catch (RejectedExecutionException closing) {
          // the caller is shutting the monitor down
        }
      }
    }
  }

  private final Map<String, Tracked> workers = new LinkedHashMap<>();
  private final ScheduledExecutorService timer;
  private final Listener listener;
  private final AtomicLong sequence = new AtomicLong();
  private volatile boolean started;

  public HeartbeatMonitor(Map<WorkerEndpoint, ManagedChannel> channels, ScheduledExecutorService timer,
      Listener listener) {
    channels.forEach((w, ch) -> workers.put(w.name(), new Tracked(w, ch)));
    this.timer = timer;
    this.listener = listener;
  }

  /**
   * Opens every worker's heartbeat stream and waits up to {@code timeout} for each one's first
   * answer, so that connection set-up is not mistaken for a failure; workers that do not answer
   * start down.
   */
  public void connect(java.time.Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<Tracked, BeatStream> opened = new LinkedHashMap<>();
    for (Tracked t : workers.values()) {
      BeatStream s = new BeatStream(t).open();
      s.send();
      opened.put(t, s);
    }
    for (var e : opened.entrySet()) {
      Tracked t = e.getKey();
      try {
        e.getValue().firstAnswer.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        t.lastSeenNanos = System.nanoTime();
      } catch (TimeoutException x) {
        fail(t, "no answer at start within " + timeout.toMillis() + " ms", true);
      } catch (ExecutionException x) {
        fail(t, "no answer at start: " + x.getCause().getMessage(), true);
      } catch (InterruptedException x) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  public void start() {
    // silence counts from now: the deployment between connect() and here may take long on a busy host
    long now = System.nanoTime();
    workers.values().forEach(t -> t.lastSeenNanos = now);
    started = true;
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
    HeartbeatReply last = t == null ? null : t.last;
    if (last == null || last.getDataPort() == 0) {
      return null;
    }
    return dev.shoal.runtime.wire.GrpcChannels.HostPort.parse(w.address()).host() + ":" + last.getDataPort();
  }

  /** The worker's last heartbeat answer (its counters at most a beat old), or null before the first. */
  public HeartbeatReply lastAnswer(String name) {
    Tracked t = workers.get(name);
    return t == null ? null : t.last;
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
    long now = System.nanoTime();
    for (Tracked t : workers.values()) {
      beat(t, now);
    }
  }

  /** Sends the next beat on the worker's stream, opening one first if it has none. On the timer only. */
  private void beat(Tracked t, long now) {
    BeatStream s = t.stream;
    if (s == null) {
      if (!t.up) {
        // A refused connection puts the channel into exponential back-off; probe a down worker promptly.
        t.channel.resetConnectBackoff();
      }
      s = new BeatStream(t).open();
    } else if (t.up) {
      long silentMillis = (now - t.lastSeenNanos) / 1_000_000;
      if (silentMillis >= SILENCE_MILLIS) {
        fail(t, "no heartbeat answered for " + silentMillis + " ms", true);
      }
    }
    s.send();
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
