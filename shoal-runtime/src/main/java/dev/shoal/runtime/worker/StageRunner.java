package dev.shoal.runtime.worker;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxRuntimeError;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.wire.DataLoop;
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
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;

/**
 * One hosted stage of a plan graph: a join table that collects each request's inputs (they may
 * come from several producers, on several workers), a bounded queue of requests whose inputs are
 * all there, one compute thread running the ONNX Runtime session, and the routes of its outputs:
 * straight to every consumer stage's worker (replicas round robin by request id; a consumer on this
 * worker takes it from the thread that computed it, without a socket) and to the
 * coordinator. Work whose deadline has passed is dropped, waiting or queued, and so is the work of
 * a request the coordinator cancelled ({@link #cancel}).
 *
 * <p>Frames are taken on the data-port thread that read them (the worker's {@link DataLoop})
 * and never block it. A request whose last input arrives there while the stage is idle, with
 * nothing queued, is computed on that thread and its outputs are written from it (a stage of at
 * most {@link #INLINE_MAX_NANOS} on a worker without emulated slowdown): the links share the loop,
 * so the hop costs no thread hand-off at all. A
 * link that cannot take a frame at once gets it from a hand-off thread, and the stage counts as
 * busy until every such frame is gone, so what comes meanwhile queues. Otherwise (the stage busy,
 * a backlog, an emulated slow device, a long stage) the request goes to the queue and its compute
 * thread; when the queue is full it is parked and its stream reads nothing more until the compute
 * thread makes room (the sender's link then fills and holds it back).
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
  /**
   * Only a stage whose warm run is at most this long computes on the transport thread: every data
   * connection of the worker (frames for its other stages, acks, results) shares that thread, and
   * must not wait behind a long computation. (Heartbeats are on the control port's own threads.)
   */
  static final long INLINE_MAX_NANOS = 20_000_000L;

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
  private final DataLoop loop;
  /** Sends frames that a link could not take at once from the transport thread. */
  private final Executor handOff;
  /** Whether a request may be computed on the transport thread (the class comment says when). */
  private final boolean computesInline;
  /**
   * One request at a time runs the session, on the compute thread or inline; an inline request
   * holds it until its frames have all left.
   */
  private final Semaphore stageFree = new Semaphore(1);
  /** Held while the session runs: closing it then would crash the process. */
  private final ReentrantLock sessionLock = new ReentrantLock();
  /** Guarded by sessionLock. */
  private boolean sessionClosed;
  private final Map<Long, Partial> joins = new ConcurrentHashMap<>();
  /** Cancelled requests, with when to forget them (microseconds since 1970). */
  private final Map<Long, Long> cancelled = new ConcurrentHashMap<>();
  private final BlockingQueue<Work> queue;
  /** Requests that found the queue full, and how to resume their streams; guarded by itself. */
  private final ArrayDeque<Parked> parked = new ArrayDeque<>();
  private final Thread computeThread;
  private volatile boolean accepting = true;
  private volatile boolean running = true;
  /** The work the compute thread runs now, or null: a cancel of its request wakes the thread. */
  private volatile Work current;

  StageRunner(DeployRequest d, OnnxSession session, long warmRunNanos, WorkerConfig config, WorkerStats stats,
      ResultSubscribers results, PeerLinks links, LocalStages local, DeviceClock device, DataLoop loop,
      Executor handOff) {
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
    this.loop = loop;
    this.handOff = handOff;
    this.computesInline = config.slowdown() <= 1.0 && warmRunNanos > 0 && warmRunNanos <= INLINE_MAX_NANOS;
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
      onRoom.run(); // its stream reads on
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
    if (computesInline && loop.inLoop() && queue.isEmpty() && parkedCount() == 0 && stageFree.tryAcquire()) {
      stats.computedInline.incrementAndGet();
      try {
        process(work, new Outstanding());
      } finally {
        onRoom.run();
      }
      return null;
    }
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
    while ((!queue.isEmpty() || parkedCount() > 0 || busy()) && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    return queue.isEmpty() && parkedCount() == 0 && !busy();
  }

  /** A request is being computed, or an inline one's frames are still on their way out. */
  private boolean busy() {
    return stageFree.availablePermits() == 0;
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
      try {
        stageFree.acquire();
      } catch (InterruptedException e) {
        return;
      }
      try {
        process(w, null);
      } finally {
        stageFree.release();
      }
    }
  }

  /**
   * Computes a request and sends its outputs on. {@code inline}: it runs on the transport thread,
   * which must not wait (a frame that cannot leave at once is handed off; the stage is released
   * when all have left); null: on the compute thread, which waits for unready links.
   */
  private void process(Work w, Outstanding inline) {
    try {
      computeAndRoute(w, inline);
    } finally {
      if (inline != null) {
        inline.done();
      }
    }
  }

  private void computeAndRoute(Work w, Outstanding inline) {
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
      long cpu0 = config.slowdown() > 1.0 ? CPU.getCurrentThreadCpuTime() : 0;
      out = runSession(w.inputs());
      if (out == null) {
        return; // the stage closed meanwhile
      }
      stats.computeNanos.addAndGet(System.nanoTime() - t0);
      if (config.slowdown() > 1.0) {
        emulateSlowDevice(w, CPU.getCurrentThreadCpuTime() - cpu0);
      }
    } catch (OnnxRuntimeError e) {
      toCoordinator(Frames.error(w.requestId(), key.epoch(), key.stage(),
          "stage " + key.stage() + " on worker " + config.name() + ": " + e.getMessage()), inline);
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
    route(w, out, inline);
  }

  /** Runs the session, unless the stage closed it; null then. */
  private Map<String, TensorData> runSession(Map<String, TensorData> inputs) {
    sessionLock.lock();
    try {
      return sessionClosed ? null : session.run(inputs);
    } finally {
      sessionLock.unlock();
    }
  }

  /** Sends each output to every consumer; a tensor going to several consumers with one codec is encoded once. */
  private void route(Work w, Map<String, TensorData> out, Outstanding inline) {
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
        toCoordinator(frame, inline);
        continue;
      }
      int replica = Math.floorMod(w.requestId(), r.getReplicasCount());
      String name = r.getReplicaNames(replica);
      String to = r.getReplicas(replica);
      if (name.equals(config.name())) {
        if (inline == null) {
          sendHere(frame);
        } else {
          // the consumer takes it on this thread too (inline, or into its queue); this stage stays
          // busy while that queue has no room for it
          inline.add();
          handOverHere(frame, inline::done);
        }
      } else if (inline == null) {
        sendToPeer(frame, name, to);
      } else if (links.trySend(name, to, frame)) {
        sentOverNetwork(frame);
      } else {
        handOff(inline, () -> sendToPeer(frame, name, to));
      }
    }
  }

  /** Sends a frame to another worker, waiting while its link is not ready. */
  private void sendToPeer(Frame frame, String name, String to) {
    try {
      links.send(name, to, frame, BLOCK_MILLIS);
      sentOverNetwork(frame);
    } catch (IOException e) {
      // The coordinator finds the dead peer by heartbeat and replays; nothing is answered twice.
      LOG.warning(() -> "stage " + key + " dropped request " + frame.getRequestId() + " for " + to + ": " + e.getMessage());
    }
  }

  /** Counts a frame that left over the network, to a peer or the coordinator. */
  private void sentOverNetwork(Frame frame) {
    stats.framesOut.incrementAndGet();
    stats.bytesOut.addAndGet(Frames.wireBytes(frame)); // in-process hand-overs are not counted here
  }

  /** Runs a send that would wait on a hand-off thread; the stage stays busy until it is done. */
  private void handOff(Outstanding inline, Runnable send) {
    inline.add();
    stats.sendsHandedOff.incrementAndGet();
    handOff.execute(() -> {
      try {
        send.run();
      } finally {
        inline.done();
      }
    });
  }

  /**
   * A consumer stage on this worker takes the frame from this thread: no socket, TLS, event loop or
   * thread hand-off besides its own queue. Waits, as a link would, while that stage's queue is full.
   */
  private void sendHere(Frame frame) {
    CountDownLatch taken = new CountDownLatch(1);
    if (!handOverHere(frame, taken::countDown)) {
      return;
    }
    try {
      if (!taken.await(BLOCK_MILLIS, TimeUnit.MILLISECONDS)) {
        LOG.warning(() -> "stage " + key + ": request " + frame.getRequestId() + " waits for room in stage "
            + frame.getStage() + " on this worker longer than " + BLOCK_MILLIS + " ms");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Hands a frame to a consumer stage on this worker; {@code taken} runs once, when it has taken
   * it (or refused it). Returns whether it was accepted.
   */
  private boolean handOverHere(Frame frame, Runnable taken) {
    String refusal = local.accept(frame, taken);
    if (refusal != null) {
      // the coordinator's deadline ends the request; nothing is answered twice
      LOG.warning(() -> "stage " + key + " dropped request " + frame.getRequestId() + ", refused here: " + refusal);
      return false;
    }
    stats.framesInProcess.incrementAndGet();
    stats.framesOut.incrementAndGet();
    return true;
  }

  /** Sends a frame to the coordinator: at once when it can take it, else waiting (handed off when inline). */
  private void toCoordinator(Frame frame, Outstanding inline) {
    if (inline == null) {
      deliver(frame);
      return;
    }
    switch (results.tryDeliver(frame)) {
      case SENT -> sentOverNetwork(frame);
      case NO_SUBSCRIBER -> noSubscriber(frame);
      case NOT_NOW -> handOff(inline, () -> deliver(frame));
    }
  }

  private void deliver(Frame frame) {
    try {
      if (results.deliver(frame, BLOCK_MILLIS)) {
        sentOverNetwork(frame);
      } else {
        noSubscriber(frame);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void noSubscriber(Frame frame) {
    LOG.warning(() -> "no coordinator listens for epoch " + key.epoch() + "; dropped request " + frame.getRequestId());
  }

  /**
   * The frames of one inline-computed request still on their way out, and the computation itself
   * (counted from the start): the stage is free again when none is left.
   */
  private final class Outstanding {
    private final AtomicInteger left = new AtomicInteger(1);

    void add() {
      left.incrementAndGet();
    }

    void done() {
      if (left.decrementAndGet() == 0) {
        stageFree.release();
      }
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
    // Closing a session while ONNX Runtime still runs it (on the compute thread or inline on the
    // transport thread) would crash the process: leak it instead.
    boolean locked;
    try {
      locked = sessionLock.tryLock(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      locked = false;
    }
    if (!locked) {
      LOG.warning(() -> "stage " + key + ": its session still runs after 10 s; left open");
      return;
    }
    try {
      sessionClosed = true;
      session.close();
    } finally {
      sessionLock.unlock();
    }
  }
}
