package dev.shoal.runtime.worker;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxRuntimeError;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.proto.DeployRequest;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.Route;
import dev.shoal.runtime.wire.proto.RoutedTensor;
import dev.shoal.runtime.wire.proto.TensorFrame;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;

/**
 * One hosted stage of a plan graph: a join table that collects each request's inputs (they may
 * come from several producers, on several workers), a bounded queue of requests whose inputs are
 * all there, one compute thread running the ONNX Runtime session, and the routes of its outputs:
 * straight to every consumer stage's worker (replicas round robin by request id; a consumer on this
 * worker takes it from the compute thread, without a socket) and to the
 * coordinator. Work whose deadline has passed is dropped, waiting or queued, and so is the work of
 * a request the coordinator cancelled ({@link #cancel}).
 *
 * <p>Frames are taken on the gRPC transport thread that read them and never block it: when the
 * queue is full the request is parked and its stream reads nothing more until the compute thread
 * makes room (gRPC flow control then holds the sender back), so the only hand-off between the
 * wire and ONNX Runtime is the queue.
 */
final class StageRunner implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(StageRunner.class.getName());
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();
  /** How long an unready link may block before the frame is dropped. */
  static final long BLOCK_MILLIS = 30_000;
  /** Inputs of a request without a deadline are kept this long for their missing siblings. */
  private static final long JOIN_WITHOUT_DEADLINE_MICROS = 120_000_000L;
  /**
   * A cancelled request is remembered this long past its deadline (or past the cancel, if that is
   * later): frames of it still on their way from other workers are dropped when they arrive.
   */
  private static final long CANCEL_MEMORY_MICROS = 10_000_000L;

  /** The stages this worker hosts, taking a frame from one of them without a socket. */
  interface LocalStages {
    /**
     * Hands a frame to the stage it is addressed to; {@code onRoom} runs once, when that stage has
     * taken it (at once unless its queue is full).
     *
     * @return why the frame is refused, or null
     */
    String accept(Frame frame, Runnable onRoom);
  }

  /** Hosted stages are keyed by plan epoch and stage id. */
  record Key(long epoch, String stage) {
    @Override
    public String toString() {
      return epoch + "/" + stage;
    }
  }

  /** A request whose inputs are all here. */
  record Work(long requestId, long deadlineMicros, Map<String, TensorData> inputs, long enqueuedNanos) {}

  /** A request waiting for room in the queue, and the stream to resume once it has some. */
  private record Parked(Work work, Runnable onRoom) {}

  /** Inputs of a request that arrived so far. */
  private static final class Partial {
    final Map<String, TensorData> inputs = new HashMap<>();
    final long deadlineMicros;
    final long arrivedMicros = nowMicros();

    Partial(long deadlineMicros) {
      this.deadlineMicros = deadlineMicros;
    }
  }

  private final Key key;
  private final String plan;
  private final List<String> inputNames;
  private final List<Route> routes;
  private final OnnxSession session;
  /** The stage's median warm run time on this host, measured at deploy; 0 if unknown. */
  private final long warmRunNanos;
  /** The stage's compute on the planner's reference host (DeployRequest); 0 if not given. */
  private final long referenceNanos;
  private final WorkerConfig config;
  private final WorkerStats stats;
  private final ResultSubscribers results;
  private final PeerLinks links;
  private final LocalStages local;
  private final DeviceClock device;
  private final Map<Long, Partial> joins = new ConcurrentHashMap<>();
  /** Cancelled requests, with when to forget them (microseconds since 1970). */
  private final Map<Long, Long> cancelled = new ConcurrentHashMap<>();
  private final BlockingQueue<Work> queue;
  /** Requests that found the queue full, and how to resume their streams; guarded by itself. */
  private final ArrayDeque<Parked> parked = new ArrayDeque<>();
  private final Thread computeThread;
  private volatile boolean accepting = true;
  private volatile boolean running = true;
  private volatile boolean busy;
  /** The work the compute thread runs now, or null: a cancel of its request wakes the thread. */
  private volatile Work current;

  StageRunner(DeployRequest d, OnnxSession session, long warmRunNanos, WorkerConfig config, WorkerStats stats,
      ResultSubscribers results, PeerLinks links, LocalStages local, DeviceClock device) {
    this.key = new Key(d.getPlanEpoch(), d.getStageId());
    this.plan = d.getPlan();
    this.inputNames = session.inputs().stream().map(s -> s.name()).toList();
    this.routes = List.copyOf(d.getRoutesList());
    this.warmRunNanos = warmRunNanos;
    this.referenceNanos = Math.round(d.getReferenceSeconds() * 1e9);
    this.session = session;
    this.config = config;
    this.stats = stats;
    this.results = results;
    this.links = links;
    this.local = local;
    this.device = device;
    this.queue = new ArrayBlockingQueue<>(config.queueCapacity());
    this.computeThread = new Thread(null, this::computeLoop, "stage-" + key, OrtStack.STACK_BYTES);
    this.computeThread.setDaemon(true);
    this.computeThread.start();
  }

  Key key() {
    return key;
  }

  String plan() {
    return plan;
  }

  int queued() {
    return queue.size();
  }

  long warmRunNanos() {
    return warmRunNanos;
  }

  long referenceNanos() {
    return referenceNanos;
  }

  /**
   * Adds a frame's tensors to its request's inputs, and queues the request once every input is
   * there. Never blocks: {@code onRoom} (which lets the frame's stream read its next frame) runs
   * once, at once unless the request had to wait for room in a full queue (back-pressure), then
   * as soon as it is queued, or when the stage closes.
   *
   * @return why the frame is refused, or null
   */
  String accept(long requestId, long deadlineMicros, Map<String, TensorData> tensors, Runnable onRoom) {
    String refusal = take(requestId, deadlineMicros, tensors, onRoom);
    if (refusal != null) {
      onRoom.run();
    }
    return refusal;
  }

  private String take(long requestId, long deadlineMicros, Map<String, TensorData> tensors, Runnable onRoom) {
    if (!accepting) {
      return "stage " + key + " is draining (request " + requestId + ")";
    }
    if (cancelled.containsKey(requestId)) {
      stats.framesCancelled.incrementAndGet(); // on its way when the cancel came: dropped, not refused
      return null;
    }
    for (String name : tensors.keySet()) {
      if (!inputNames.contains(name)) {
        return "stage " + key + " has no input '" + name + "' (it has " + inputNames + ", request " + requestId + ")";
      }
    }
    Map<String, TensorData> complete;
    if (tensors.size() == inputNames.size()) {
      complete = tensors; // all inputs in one frame: no join needed
    } else {
      Partial p = joins.computeIfAbsent(requestId, id -> new Partial(deadlineMicros));
      synchronized (p) {
        for (Map.Entry<String, TensorData> t : tensors.entrySet()) {
          if (p.inputs.putIfAbsent(t.getKey(), t.getValue()) != null) {
            return "stage " + key + ": input '" + t.getKey() + "' of request " + requestId + " arrived twice";
          }
        }
        if (p.inputs.size() < inputNames.size()) {
          onRoom.run();
          return null;
        }
        joins.remove(requestId, p);
        complete = p.inputs;
      }
    }
    Work work = new Work(requestId, deadlineMicros, complete, System.nanoTime());
    boolean queued;
    synchronized (parked) {
      queued = parked.isEmpty() && queue.offer(work);
      if (!queued) {
        parked.add(new Parked(work, onRoom));
      }
    }
    if (queued) {
      onRoom.run();
    }
    return null;
  }

  /** Moves parked requests into the room the compute thread made, and resumes their streams. */
  private void unpark() {
    List<Runnable> resumed = new ArrayList<>();
    synchronized (parked) {
      while (!parked.isEmpty() && queue.offer(parked.peek().work())) {
        resumed.add(parked.poll().onRoom());
      }
    }
    resumed.forEach(Runnable::run);
  }

  /**
   * The request no longer needs this stage: its partial inputs and queued work are dropped, work of
   * it running now is not sent on, and frames of it that arrive later are dropped.
   */
  void cancel(long requestId, long deadlineMicros) {
    cancelled.put(requestId, Math.max(deadlineMicros, nowMicros()) + CANCEL_MEMORY_MICROS);
    if (joins.remove(requestId) != null) {
      stats.framesCancelled.incrementAndGet();
    }
    if (queue.removeIf(w -> w.requestId() == requestId)) {
      stats.framesCancelled.incrementAndGet();
    }
    List<Runnable> resumed = new ArrayList<>();
    synchronized (parked) {
      parked.removeIf(p -> p.work().requestId() == requestId && resumed.add(p.onRoom()));
    }
    if (!resumed.isEmpty()) {
      stats.framesCancelled.incrementAndGet();
      resumed.forEach(Runnable::run); // their streams read on
    }
    Work running = current;
    if (running != null && running.requestId() == requestId) {
      LockSupport.unpark(computeThread); // stop holding it on the emulated device
    }
  }

  /**
   * Forgets partial inputs whose request's deadline has passed (or that waited too long without
   * one) or that was cancelled meanwhile, and cancelled requests that can no longer send frames.
   */
  void expireJoins() {
    long now = nowMicros();
    cancelled.values().removeIf(forgetAt -> forgetAt < now);
    joins.entrySet().removeIf(e -> {
      if (cancelled.containsKey(e.getKey())) {
        stats.framesCancelled.incrementAndGet();
        return true;
      }
      Partial p = e.getValue();
      boolean expired = p.deadlineMicros > 0 ? p.deadlineMicros < now : now - p.arrivedMicros > JOIN_WITHOUT_DEADLINE_MICROS;
      if (expired) {
        stats.framesExpired.incrementAndGet();
      }
      return expired;
    });
  }

  /** Stops taking frames and waits until the queued ones are done; returns true if drained. */
  boolean drain(long timeoutMillis) throws InterruptedException {
    accepting = false;
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while ((!queue.isEmpty() || parkedCount() > 0 || busy) && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    return queue.isEmpty() && parkedCount() == 0 && !busy;
  }

  private int parkedCount() {
    synchronized (parked) {
      return parked.size();
    }
  }

  private void computeLoop() {
    while (running) {
      Work w;
      try {
        w = queue.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      unpark();
      if (w == null) {
        continue;
      }
      busy = true;
      try {
        process(w);
      } finally {
        busy = false;
      }
    }
  }

  private void process(Work w) {
    stats.queueNanos.addAndGet(System.nanoTime() - w.enqueuedNanos());
    if (w.deadlineMicros() > 0 && w.deadlineMicros() < nowMicros()) {
      stats.framesExpired.incrementAndGet(); // the coordinator has answered it already
      return;
    }
    if (cancelled.containsKey(w.requestId())) {
      stats.framesCancelled.incrementAndGet();
      return;
    }
    Map<String, TensorData> out;
    current = w;
    try {
      long t0 = System.nanoTime();
      long cpu0 = CPU.getCurrentThreadCpuTime();
      out = session.run(w.inputs());
      stats.computeNanos.addAndGet(System.nanoTime() - t0);
      if (config.slowdown() > 1.0) {
        emulateSlowDevice(w, CPU.getCurrentThreadCpuTime() - cpu0);
      }
    } catch (OnnxRuntimeError e) {
      deliver(Frames.error(w.requestId(), key.epoch(), key.stage(),
          "stage " + key.stage() + " on worker " + config.name() + ": " + e.getMessage()));
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    } finally {
      current = null;
    }
    if (cancelled.containsKey(w.requestId())) {
      stats.framesCancelled.incrementAndGet(); // computed, but no one wants it any more
      return;
    }
    if (w.deadlineMicros() > 0 && w.deadlineMicros() < nowMicros()) {
      stats.framesExpired.incrementAndGet(); // held past its deadline on the emulated device
      return;
    }
    route(w, out);
  }

  /** Sends each output to every consumer; a tensor going to several consumers with one codec is encoded once. */
  private void route(Work w, Map<String, TensorData> out) {
    Map<String, TensorFrame> encoded = new LinkedHashMap<>();
    for (Route r : routes) {
      Frame.Builder f = Frames.header(w.requestId(), key.epoch(), r.getToStage(), key.stage(), w.deadlineMicros());
      for (RoutedTensor t : r.getTensorsList()) {
        TensorFrame tf = encoded.computeIfAbsent(t.getOutput() + "\u0000" + t.getCodec().getNumber() + "+"
            + t.getEntropy().getNumber(),
            k -> Frames.tensor(out.get(t.getOutput()), t.getOutput(), TensorCodec.of(t.getCodec(), t.getEntropy())));
        f.addTensors(tf.getName().equals(t.getInput()) ? tf : tf.toBuilder().setName(t.getInput()).build());
      }
      Frame frame = f.build();
      if (r.getReplicasCount() == 0) {
        deliver(frame);
      } else {
        int replica = Math.floorMod(w.requestId(), r.getReplicasCount());
        String to = r.getReplicas(replica);
        try {
          if (r.getReplicaNames(replica).equals(config.name())) {
            sendHere(frame);
          } else {
            links.send(r.getReplicaNames(replica), to, frame, BLOCK_MILLIS);
            stats.bytesOut.addAndGet(Frames.wireBytes(frame)); // bytes that crossed the network only
          }
          stats.framesOut.incrementAndGet();
        } catch (IOException e) {
          // The coordinator finds the dead peer by heartbeat and replays; nothing is answered twice.
          LOG.warning(() -> "stage " + key + " dropped request " + w.requestId() + " for " + to + ": " + e.getMessage());
        }
      }
    }
  }

  /**
   * A consumer stage on this worker takes the frame from this thread: no socket, TLS, event loop or
   * thread hand-off besides its own queue. Waits, as a link would, while that stage's queue is full.
   */
  private void sendHere(Frame frame) throws IOException {
    CountDownLatch taken = new CountDownLatch(1);
    String refusal = local.accept(frame, taken::countDown);
    if (refusal != null) {
      throw new IOException("refused here: " + refusal);
    }
    stats.framesInProcess.incrementAndGet();
    try {
      if (!taken.await(BLOCK_MILLIS, TimeUnit.MILLISECONDS)) {
        LOG.warning(() -> "stage " + key + ": request " + frame.getRequestId() + " waits for room in stage "
            + frame.getStage() + " on this worker longer than " + BLOCK_MILLIS + " ms");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void deliver(Frame frame) {
    try {
      if (results.deliver(frame, BLOCK_MILLIS)) {
        stats.framesOut.incrementAndGet();
        stats.bytesOut.addAndGet(Frames.wireBytes(frame));
      } else {
        LOG.warning(() -> "no coordinator listens for epoch " + key.epoch() + "; dropped request " + frame.getRequestId());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Holds the frame until a device {@code slowdown} times slower than the reference host would be
   * done with it. Its work per frame is the stage's compute on the reference host as the planner
   * profiled it (DeployRequest.reference_seconds): the emulated device is then the one the cost
   * model describes, and what the runtime adds on this host (each stage is its own ONNX Runtime
   * call, with its own input and output copies, plus codecs and transport) is measured, not
   * multiplied by the slowdown. Without a reference time it is the stage's warm run measured at
   * deploy, or else this thread's CPU time for the frame. The worker's stages share one device
   * ({@link DeviceClock}).
   */
  private void emulateSlowDevice(Work w, long cpuNanos) throws InterruptedException {
    long work = referenceNanos > 0 ? referenceNanos : warmRunNanos > 0 ? warmRunNanos : cpuNanos;
    long until = device.book(w.enqueuedNanos(), (long) (config.slowdown() * work));
    for (long left = until - System.nanoTime(); left > 0; left = until - System.nanoTime()) {
      LockSupport.parkNanos(left);
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
      if (cancelled.containsKey(w.requestId())) {
        device.release(until); // a real device would stop working on it now
        return;
      }
    }
  }

  static long nowMicros() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  @Override
  public void close() {
    accepting = false;
    running = false;
    List<Parked> dropped;
    synchronized (parked) {
      dropped = List.copyOf(parked);
      parked.clear();
    }
    dropped.forEach(p -> p.onRoom().run()); // their streams go on for the other stages they carry
    computeThread.interrupt();
    try {
      computeThread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // Closing a session while ONNX Runtime still runs it would crash the process: leak it instead.
    if (!computeThread.isAlive()) {
      session.close();
    }
  }
}
