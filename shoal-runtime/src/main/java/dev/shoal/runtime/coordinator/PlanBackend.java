package dev.shoal.runtime.coordinator;

import com.google.protobuf.ByteString;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.graph.Batching;
import dev.shoal.plan.graph.Edge;
import dev.shoal.plan.graph.Merge;
import dev.shoal.plan.graph.MergeRule;
import dev.shoal.plan.graph.Plan;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.PlanProducer;
import dev.shoal.plan.graph.Stage;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.ensemble.Mergers;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.serving.PlanAdmin;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import dev.shoal.runtime.wire.Checksums;
import dev.shoal.runtime.wire.FrameException;
import dev.shoal.runtime.wire.DataLink;
import dev.shoal.runtime.wire.DataLoop;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.DeployRequest;
import dev.shoal.runtime.wire.proto.DrainRequest;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.HeartbeatReply;
import dev.shoal.runtime.wire.proto.Route;
import dev.shoal.runtime.wire.proto.RoutedTensor;
import dev.shoal.runtime.wire.proto.StatusReply;
import dev.shoal.runtime.wire.proto.StatusRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The coordinator: serves one model from plan graphs deployed on workers. It holds one or more
 * named plans of the model ({@link PlanProducer}s), each deployed under its own epoch, one of them
 * active ({@link PlanAdmin}: switching is atomic, requests in flight finish on their plan). A
 * request's inputs go straight to the stages that read them; the stages send their outputs to
 * each other peer to peer, and to the coordinator only what makes the response: outputs of the
 * plan and the members of its merges, which run here.
 *
 * <p>Failures (heartbeats, {@link HeartbeatMonitor}): a worker that runs a required stage of a
 * plan forces a re-plan on the survivors, a redeploy under a new epoch and a replay of that plan's
 * unanswered requests; a worker that runs only optional stages leaves the plan as it is, and the
 * merges answer from the members that are left, saying so. A worker that comes back triggers a
 * re-plan that includes it; requests in flight finish on the plan they started on.
 *
 * <p>Each accepted request completes exactly once, with its answer or an explicit {@link
 * InferenceException}: at its one deadline (carried in every frame; workers drop work past it) it
 * fails, or, if its merges have answers, is answered from them, marked degraded. Work a request no
 * longer needs (the caller cancelled, it failed or was answered without some members, it was
 * replayed on a new epoch) is cancelled on every worker of its deployment: a Cancel frame on a
 * link of its own, so that it is not stuck behind data frames held back by back-pressure.
 */
public final class PlanBackend implements ServingBackend, PlanAdmin {
  private static final Logger LOG = Logger.getLogger(PlanBackend.class.getName());
  private static final long DEPLOY_DEADLINE_MILLIS = 60_000;
  private static final long SEND_TIMEOUT_MILLIS = 5_000;
  /** How long the workers get to answer a first heartbeat at start (JVMs starting on a busy host). */
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(20);
  /** Response parameter names (KServe v2 response {@code parameters}). */
  public static final String PARAM_PLAN = "shoal.plan";
  public static final String PARAM_EPOCH = "shoal.epoch";
  public static final String PARAM_DEGRADED = "shoal.degraded";
  public static final String PARAM_ANSWERED = "shoal.answered";
  public static final String PARAM_MISSING = "shoal.missing";
  /** Rows of the dynamic batch the request ran in, when it shared one with others. */
  public static final String PARAM_BATCH = "shoal.batch";

  /**
   * Plan epochs grow across coordinator restarts and are unique in this process (several
   * coordinators may share workers), so they start from the clock: milliseconds since 1970.
   */
  private static final AtomicLong EPOCHS = new AtomicLong(System.currentTimeMillis());

  /** Limits: requests in flight, frame size. */
  public record Options(int maxInFlight, int maxFrameBytes) {
    public static final Options DEFAULT = new Options(1024, Frames.DEFAULT_MAX_FRAME_BYTES);
  }

  /**
   * One failure and its handling: how long after the worker's last answered heartbeat it was
   * declared down ({@code detectedAtNanos} on this process's {@link System#nanoTime} clock), how
   * long the re-plan, redeploy and replay then took, and how many requests were replayed.
   */
  public record Recovery(String worker, String reason, long detectedAtNanos, double detectionSeconds,
      double recoverySeconds, int replayed, long epoch, String plan) {}

  /** Bytes and frames a link carried (cumulative since each worker started). */
  public record LinkStats(String from, String to, long bytes, long frames) {}

  /** A plan deployed under one epoch. */
  private final class Deployment {
    final long epoch;
    final PlanBundle bundle;
    final Plan plan;
    final Set<String> aliveAtPlan;
    final Map<String, List<WorkerEndpoint>> placement = new LinkedHashMap<>();
    /** Optional stages with no live replica: their merges do not wait for them. */
    final Set<String> lost = ConcurrentHashMap.newKeySet();
    final List<DataLink> subscriptions = new CopyOnWriteArrayList<>();
    /** Request edges by the stage they feed. */
    final Map<String, List<Edge>> fromRequest = new LinkedHashMap<>();
    /** Response edges by the stage that makes them. */
    final Map<String, List<Edge>> toResponse = new LinkedHashMap<>();
    final Map<String, Mergers.Merger> mergers = new LinkedHashMap<>();
    /** The frames between its stages as the stage models declare them: an early 413 for a batch too large. */
    final FrameSizes frameSizes;

    Deployment(long epoch, PlanBundle bundle, Set<String> aliveAtPlan) {
      this.epoch = epoch;
      this.bundle = bundle;
      this.plan = bundle.plan();
      this.frameSizes = FrameSizes.of(bundle);
      this.aliveAtPlan = aliveAtPlan;
      for (Stage s : plan.stages()) {
        placement.put(s.id(), s.devices().stream().map(PlanBackend.this::worker).toList());
      }
      for (Edge e : plan.links()) {
        if (e.from().node().equals(Plan.REQUEST)) {
          fromRequest.computeIfAbsent(e.to().node(), k -> new ArrayList<>()).add(e);
        }
        if (e.to().node().equals(Plan.RESPONSE)) {
          toResponse.computeIfAbsent(e.from().node(), k -> new ArrayList<>()).add(e);
        }
      }
      plan.merges().forEach(m -> mergers.put(m.id(), Mergers.of(m.rule())));
    }

    Stage stage(String id) {
      return plan.stage(id).orElse(null);
    }

    boolean uses(String worker) {
      return placement.values().stream().anyMatch(ws -> ws.stream().anyMatch(w -> w.name().equals(worker)));
    }

    boolean requiredOn(String worker) {
      return plan.stages().stream().anyMatch(s -> !s.optional() && s.devices().contains(worker));
    }

    Set<String> workers() {
      Set<String> out = new LinkedHashSet<>();
      placement.values().forEach(ws -> ws.forEach(w -> out.add(w.name())));
      return out;
    }
  }

  private final class Pending {
    final long id;
    final Map<String, TensorData> inputs;
    final long deadlineMicros;
    final String planName;
    final CompletableFuture<InferenceResult> future = new CompletableFuture<>();
    final long startNanos = System.nanoTime();
    volatile Deployment bound;
    /** Outputs that reached the coordinator, by the stage that made them (of the bound epoch). */
    final Map<String, Map<String, TensorData>> outputs = new ConcurrentHashMap<>();
    /** Optional stages that failed this request, and why. */
    final Map<String, String> failures = new ConcurrentHashMap<>();
    /** The merges' own wait ran out: they answer from what arrived. */
    volatile boolean mergeNow;
    final List<ScheduledFuture<?>> timers = new CopyOnWriteArrayList<>();
    /** Routed merges: the member each sent this request to, by merge id, and the devices counted for it. */
    final Map<String, String> routed = new ConcurrentHashMap<>();
    final List<String> routedDevices = new CopyOnWriteArrayList<>();
    /** Stages this request is not sent to: the other members of its routed merges. */
    final Set<String> notSent = ConcurrentHashMap.newKeySet();
    /** Routed members that failed this request or were lost: not chosen again for it. */
    final Set<String> tried = ConcurrentHashMap.newKeySet();
    /** For a dynamic batch: the requests it joins, in row order; null for a request. */
    final List<Pending> members;

    Pending(long id, Map<String, TensorData> inputs, long deadlineMicros, String planName, List<Pending> members) {
      this.id = id;
      this.inputs = inputs;
      this.deadlineMicros = deadlineMicros;
      this.planName = planName;
      this.members = members;
    }
  }

  /** The model every plan serves; set once the plans are deployed. */
  private volatile ServedModel model;
  private final List<WorkerEndpoint> workers;
  private final Map<String, ManagedChannel> channels = new LinkedHashMap<>();
  /** Data links to the workers' data ports, by worker name; results come on links of their own. */
  private final Map<String, DataLink> streams = new ConcurrentHashMap<>();
  /** One link per worker for Cancel frames only (data frames may be held back by back-pressure). */
  private final Map<String, DataLink> cancelStreams = new ConcurrentHashMap<>();
  /** The I/O thread of every data link; results are taken on it. */
  private final DataLoop loop = new DataLoop("coordinator-data-loop", 0);
  private final PeerSecurity security;
  private final ExecutorService cancels = Executors.newSingleThreadExecutor(daemon("plan-cancels"));
  private final AtomicLong cancelFrames = new AtomicLong();
  private final Map<String, PlanProducer> producers = new LinkedHashMap<>();
  private final Map<String, Deployment> deployments = new ConcurrentHashMap<>();
  /** Deployments replaced while requests still ran on them; drained once those are answered. */
  private final List<Deployment> retiring = new CopyOnWriteArrayList<>();
  /** Epochs ended while their worker was down: drained there when it comes back. */
  private final Map<String, Set<Long>> undrained = new ConcurrentHashMap<>();
  /** Why a plan refuses requests now; absent while it serves or a re-plan is under way. */
  private final Map<String, String> unavailable = new ConcurrentHashMap<>();
  private final Options options;
  private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2, daemon("plan-timer"));
  /** Heartbeats have their own timer thread and channels (see GrpcChannels#heartbeatClient). */
  private final ScheduledExecutorService heartbeatTimer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = daemon("plan-heartbeats").newThread(r);
    t.setPriority(Thread.MAX_PRIORITY);
    return t;
  });
  private final List<ManagedChannel> heartbeatChannels = new ArrayList<>();
  /** Status polls block up to a second on a frozen worker: never on the heartbeat and deadline timer. */
  private final ScheduledExecutorService housekeeper = Executors.newSingleThreadScheduledExecutor(daemon("plan-housekeeping"));
  private final ExecutorService planThread = Executors.newSingleThreadExecutor(daemon("plan-planner"));
  private final ExecutorService deployCalls = Executors.newCachedThreadPool(daemon("plan-deploy"));
  private final HeartbeatMonitor monitor;
  private final ConcurrentSkipListMap<Long, Pending> pending = new ConcurrentSkipListMap<>();
  private final LinkedBlockingQueue<Pending> sendQueue = new LinkedBlockingQueue<>();
  /** Dynamic batching at the entry of the plans that ask for it, by plan name. */
  private final Map<String, EntryBatcher<Pending>> batchers = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicLong bytesToStages = new AtomicLong();
  private final AtomicLong framesToStages = new AtomicLong();
  private final AtomicLong bytesFromStages = new AtomicLong();
  private final AtomicLong framesFromStages = new AtomicLong();
  private final AtomicLong duplicateResults = new AtomicLong();
  private final List<Recovery> recoveries = new CopyOnWriteArrayList<>();
  private final RequestRouter router = new RequestRouter();
  private final Object deploymentLock = new Object();
  private final Thread sender;
  private volatile String active;
  private volatile boolean closed;

  private PlanBackend(List<WorkerEndpoint> workers, List<PlanProducer> plans, PeerSecurity security, Options options) {
    this.workers = List.copyOf(workers);
    this.options = options;
    this.security = security;
    plans.forEach(p -> producers.put(p.name(), p));
    this.active = plans.get(0).name();
    Map<WorkerEndpoint, ManagedChannel> byWorker = new LinkedHashMap<>();
    for (WorkerEndpoint w : workers) {
      channels.put(w.name(), GrpcChannels.client(w.name(), w.address(), security, options.maxFrameBytes()));
      ManagedChannel beats = GrpcChannels.heartbeatClient(w.name(), w.address(), security);
      heartbeatChannels.add(beats);
      byWorker.put(w, beats);
      CoordinatorMetrics.WORKER_UP.labelValues(w.name()).set(1);
    }
    this.monitor = new HeartbeatMonitor(byWorker, heartbeatTimer, new HeartbeatMonitor.Listener() {
      @Override
      public void down(WorkerEndpoint w, long lastSeenNanos, String why) {
        if (closed) {
          return; // a heartbeat call failing as the backend shuts its channels
        }
        long detected = System.nanoTime();
        CoordinatorMetrics.WORKER_UP.labelValues(w.name()).set(0);
        LOG.warning(() -> "worker " + w.name() + " is down: " + why);
        planThread.execute(() -> workerDown(w.name(), lastSeenNanos, detected));
      }

      @Override
      public void up(WorkerEndpoint w) {
        if (closed) {
          return;
        }
        CoordinatorMetrics.WORKER_UP.labelValues(w.name()).set(1);
        LOG.info(() -> "worker " + w.name() + " is up again");
        // The control channel may still be backing off from the connections refused while the
        // worker was away; without this the redeploy fails fast with the stale refusal.
        channels.get(w.name()).resetConnectBackoff();
        planThread.execute(() -> workerUp(w.name()));
      }
    });
    this.sender = new Thread(this::sendLoop, "plan-sender");
    this.sender.setDaemon(true);
  }

  /**
   * Plans each producer's plan over the live workers, deploys them all and starts serving the
   * first; heartbeats run from here on. Every plan serves the same model (name, inputs, outputs).
   *
   * @throws InferenceException (UNAVAILABLE) when a plan cannot be deployed on the workers
   * @throws IllegalArgumentException when the plans disagree on the model
   */
  public static PlanBackend start(List<WorkerEndpoint> workers, List<PlanProducer> plans, PeerSecurity security,
      Options options) {
    if (workers.isEmpty() || plans.isEmpty()) {
      throw new IllegalArgumentException("a plan backend needs at least one worker and one plan");
    }
    if (plans.stream().map(PlanProducer::name).distinct().count() != plans.size()) {
      throw new IllegalArgumentException("two plans share a name: " + plans.stream().map(PlanProducer::name).toList()
          + " (a model's plans are told apart by name)");
    }
    PlanBackend b = new PlanBackend(workers, plans, security, options);
    b.sender.start();
    b.monitor.connect(CONNECT_TIMEOUT);
    try {
      b.planThread.submit(() -> {
        for (PlanProducer p : plans) {
          b.deploy(p.name(), "initial plan", null);
        }
      }).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      b.close();
      throw new IllegalStateException("initial deployment failed: " + e.getCause(), e.getCause());
    }
    Plan first = null;
    ServedModel served = null;
    for (PlanProducer p : plans) {
      Deployment d = b.deployments.get(p.name());
      String why = b.unavailable.get(p.name());
      if (d == null) {
        b.close();
        throw new InferenceException(Kind.UNAVAILABLE, "cannot deploy plan '" + p.name() + "': " + why);
      }
      if (first == null) {
        first = d.plan;
        served = new ServedModel(first.model(), "1", "shoal_plan_graph", first.inputs(), first.outputs());
      }
      if (!d.plan.model().equals(served.name()) || !d.plan.inputs().equals(served.inputs())
          || !d.plan.outputs().equals(served.outputs())) {
        b.close();
        throw new IllegalArgumentException("plan '" + p.name() + "' serves " + d.plan.model() + " " + d.plan.inputs()
            + " -> " + d.plan.outputs() + ", plan '" + first.name() + "' serves " + served.name() + " "
            + served.inputs() + " -> " + served.outputs() + ": the plans of a backend serve one model");
      }
    }
    b.model = served;
    for (PlanProducer p : plans) {
      Batching batching;
      try {
        Deployment d = b.deployments.get(p.name());
        batching = entryBatching(d.plan);
        if (batching.enabled()) {
          d.frameSizes.checkMaxBatch(batching.maxBatchSize(), options.maxFrameBytes());
        }
      } catch (IllegalArgumentException e) {
        b.close();
        throw e;
      }
      if (batching.enabled()) {
        b.batchers.put(p.name(), new EntryBatcher<>(batching, b.timer, x -> b.pending.get(x.id) == x, b::sendBatch));
      }
    }
    b.monitor.start();
    b.housekeeper.scheduleWithFixedDelay(b::housekeeping, 1, 1, TimeUnit.SECONDS);
    return b;
  }

  private WorkerEndpoint worker(String device) {
    return workers.stream().filter(w -> w.name().equals(device)).findFirst().orElseThrow(
        () -> new IllegalArgumentException("the plan places a stage on '" + device + "', which has no worker"));
  }

  // ---- ServingBackend ----

  @Override
  public List<ServedModel> models() {
    return List.of(model);
  }

  /**
   * True while requests are taken and will be answered: the active plan serves, or a re-plan after
   * a failure is under way (requests wait for it rather than being refused, so a failover loses
   * none). False when no plan fits the live workers, and after close.
   */
  @Override
  public boolean ready() {
    return !closed && !unavailable.containsKey(active);
  }

  @Override
  public Optional<DataLoop> ioLoop() {
    return Optional.of(loop);
  }

  @Override
  public Optional<PlanAdmin> planAdmin() {
    return Optional.of(this);
  }

  @Override
  public CompletableFuture<InferenceResult> infer(InferenceCall call) {
    if (!model.name().equals(call.model())) {
      return CompletableFuture.failedFuture(new InferenceException(Kind.NOT_FOUND,
          "unknown model '" + call.model() + "' (this coordinator serves '" + model.name() + "')"));
    }
    Map<String, TensorData> inputs;
    try {
      inputs = checkInputs(call.inputs());
    } catch (InferenceException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (closed) {
      return CompletableFuture.failedFuture(new InferenceException(Kind.UNAVAILABLE, "the coordinator is shut down"));
    }
    String planName = active;
    String refusal = unavailable.get(planName);
    if (refusal != null) {
      return CompletableFuture.failedFuture(new InferenceException(Kind.UNAVAILABLE,
          "plan '" + planName + "' not available: " + refusal));
    }
    if (pending.size() >= options.maxInFlight()) {
      return CompletableFuture.failedFuture(new InferenceException(Kind.UNAVAILABLE,
          "too many requests in flight (" + options.maxInFlight() + "); retry later"));
    }
    long deadlineMicros = call.deadline().getEpochSecond() * 1_000_000L + call.deadline().getNano() / 1_000;
    Pending p = new Pending(ids.incrementAndGet(), inputs, deadlineMicros, planName, null);
    pending.put(p.id, p);
    CoordinatorMetrics.IN_FLIGHT.labelValues(model.name()).set(pending.size());
    long untilDeadline = Math.max(0, Duration.between(java.time.Instant.now(), call.deadline()).toNanos());
    p.timers.add(timer.schedule(() -> atDeadline(p), untilDeadline, TimeUnit.NANOSECONDS));
    Deployment d = deployments.get(planName);
    long wait = d == null ? 0 : d.plan.merges().stream().mapToLong(Merge::waitMillis).filter(w -> w > 0).min().orElse(0);
    if (wait > 0) {
      p.timers.add(timer.schedule(() -> {
        p.mergeNow = true;
        check(p);
      }, wait, TimeUnit.MILLISECONDS));
    }
    // a caller that gives up cancels the future: forget the request, and its workers drop its work
    p.future.whenComplete((r, t) -> {
      if (p.future.isCancelled() && pending.remove(p.id, p)) {
        finish(p, "cancelled");
        cancelWork(p, p.bound, "cancelled by the caller");
      }
    });
    EntryBatcher<Pending> batcher = batchers.get(planName);
    int rows = BatchTensors.rows(inputs);
    if (batcher != null && rows <= batcher.batching().maxBatchSize()) {
      batcher.offer(p, rows, BatchTensors.shapeKey(inputs));
    } else {
      dispatch(p); // no batching, or a request larger than the max batch: it runs alone
    }
    return p.future;
  }

  /**
   * Refuses a batch that would make one of the active plan's frames larger than the frame limit,
   * from the per-sample sizes its stage models declare (see {@link FrameSizes}).
   */
  @Override
  public void checkBatch(String modelName, long batch) {
    Deployment d = deployments.get(active);
    if (d != null) {
      d.frameSizes.checkBatch(batch, options.maxFrameBytes());
    }
  }

  /**
   * Sends a request on the calling thread when its plan has one entry stage whose link can take
   * the frame now (no hand-off to the sender thread), else queues it for the sender.
   */
  private void dispatch(Pending p) {
    Deployment d = deployments.get(p.planName);
    if (d == null || d.fromRequest.size() != 1) {
      sendQueue.add(p);
      return;
    }
    Map.Entry<String, List<Edge>> target = d.fromRequest.entrySet().iterator().next();
    String stageId = target.getKey();
    if (d.lost.contains(stageId)) {
      sendQueue.add(p);
      return;
    }
    List<WorkerEndpoint> replicas = d.placement.get(stageId);
    WorkerEndpoint w = replicas.get(Math.floorMod(p.id, replicas.size()));
    Frame frame = requestFrame(p, d, stageId, target.getValue());
    p.bound = d; // before the frame leaves: its results may come back before trySend returns
    if (trySend(w, frame)) {
      bytesToStages.addAndGet(Frames.wireBytes(frame));
      framesToStages.incrementAndGet();
    } else {
      p.bound = null;
      sendQueue.add(p);
    }
  }

  private boolean trySend(WorkerEndpoint w, Frame frame) {
    try {
      return stream(w).trySend(frame);
    } catch (IOException e) {
      return false; // the sender thread tries, and tells
    }
  }

  private static Frame requestFrame(Pending p, Deployment d, String stageId, List<Edge> edges) {
    Frame.Builder f = Frames.header(p.id, d.epoch, stageId, "", p.deadlineMicros);
    for (Edge e : edges) {
      f.addTensors(Frames.tensor(p.inputs.get(e.from().tensor()), e.to().tensor(), TensorCodec.parse(e.codec())));
    }
    return f.build();
  }

  /**
   * The dynamic batching of a plan's entry: that of the stages that read the request, which must
   * agree; only for plans without merges, whose inputs and outputs all have a dynamic dimension 0.
   *
   * @throws IllegalArgumentException naming the plan and what prevents batching
   */
  static Batching entryBatching(Plan plan) {
    List<Stage> entry = plan.stages().stream().filter(s -> plan.links().stream().anyMatch(e ->
        e.from().node().equals(Plan.REQUEST) && e.to().node().equals(s.id()))).toList();
    Batching b = entry.isEmpty() ? Batching.NONE : entry.get(0).batching();
    for (Stage s : entry) {
      if (!s.batching().equals(b)) {
        throw new IllegalArgumentException("plan '" + plan.name() + "': stages " + entry.get(0).id() + " and " + s.id()
            + " read the request with different batching (" + b + " vs " + s.batching() + ")");
      }
    }
    if (!b.enabled()) {
      return b;
    }
    if (!plan.merges().isEmpty()) {
      throw new IllegalArgumentException("plan '" + plan.name() + "': dynamic batching is for plans without merges");
    }
    List<TensorSpec> io = new ArrayList<>(plan.inputs());
    io.addAll(plan.outputs());
    for (TensorSpec t : io) {
      if (t.shape().length == 0 || t.shape()[0] >= 0) {
        throw new IllegalArgumentException("plan '" + plan.name() + "' asks for dynamic batching but '" + t.name()
            + "' has shape " + Arrays.toString(t.shape()) + ": every model input and output needs a dynamic"
            + " dimension 0");
      }
    }
    return b;
  }

  /**
   * Sends a batch that {@link EntryBatcher} formed: one request alone as it is, several joined along
   * dimension 0. The plan was checked to carry its max batch when it started; a re-plan may cut it
   * otherwise, so a batch whose frames the plan deployed now cannot carry goes as its requests.
   */
  private void sendBatch(List<Pending> members) {
    Deployment deployed = deployments.get(members.get(0).planName);
    long rows = members.stream().mapToLong(m -> BatchTensors.rows(m.inputs)).sum();
    if (members.size() == 1
        || deployed != null && deployed.frameSizes.overLimit(rows, options.maxFrameBytes()).isPresent()) {
      members.forEach(this::dispatch);
      return;
    }
    Map<String, TensorData> joined = BatchTensors.concat(members.stream().map(m -> m.inputs).toList());
    long deadline = members.stream().mapToLong(m -> m.deadlineMicros).max().orElseThrow();
    Pending batch = new Pending(ids.incrementAndGet(), joined, deadline, members.get(0).planName, List.copyOf(members));
    pending.put(batch.id, batch);
    long untilDeadline = Math.max(0, deadline - java.time.temporal.ChronoUnit.MICROS.between(java.time.Instant.EPOCH,
        java.time.Instant.now()));
    batch.timers.add(timer.schedule(() -> atDeadline(batch), untilDeadline, TimeUnit.MICROSECONDS));
    batch.future.whenComplete((result, failure) -> answerMembers(batch, result, failure));
    dispatch(batch);
  }

  /** Each request of a batch gets its rows of the batch's answer, or the batch's error. */
  private void answerMembers(Pending batch, InferenceResult result, Throwable failure) {
    int[] rows = batch.members.stream().mapToInt(m -> BatchTensors.rows(m.inputs)).toArray();
    List<Map<String, TensorData>> parts = null;
    if (failure == null) {
      try {
        parts = BatchTensors.split(result.outputs(), rows);
      } catch (IllegalStateException e) {
        failure = new InferenceException(Kind.INTERNAL, e.getMessage());
      }
    }
    for (int i = 0; i < rows.length; i++) {
      Pending m = batch.members.get(i);
      if (parts == null) {
        Throwable cause = failure instanceof java.util.concurrent.CompletionException c ? c.getCause() : failure;
        fail(m, cause instanceof InferenceException e ? e
            : new InferenceException(Kind.INTERNAL, "batch failed: " + cause));
      } else if (pending.remove(m.id, m)) {
        Map<String, String> params = new LinkedHashMap<>(result.parameters());
        params.put(PARAM_BATCH, Integer.toString(Arrays.stream(rows).sum()));
        finish(m, "ok");
        m.future.complete(new InferenceResult(parts.get(i), params));
      }
    }
  }

  private Map<String, TensorData> checkInputs(Map<String, TensorData> inputs) {
    Map<String, TensorData> ordered = new LinkedHashMap<>();
    long bytes = 0;
    for (TensorSpec spec : model.inputs()) {
      TensorData t = inputs.get(spec.name());
      if (t == null) {
        throw new InferenceException(Kind.BAD_INPUT, "missing input '" + spec.name() + "' (model expects "
            + model.inputs() + ")");
      }
      if (!spec.accepts(t)) {
        throw new InferenceException(Kind.BAD_INPUT, "input '" + spec.name() + "' is " + t.dtype()
            + Arrays.toString(t.shape()) + ", model expects " + spec);
      }
      if (spec.shape().length > 0 && spec.shape()[0] < 0) {
        checkBatch(model.name(), t.shape()[0]);
      }
      bytes += t.data().length;
      ordered.put(spec.name(), t.name().equals(spec.name()) ? t : t.withName(spec.name()));
    }
    for (String name : inputs.keySet()) {
      if (model.inputs().stream().noneMatch(s -> s.name().equals(name))) {
        throw new InferenceException(Kind.BAD_INPUT, "unexpected input '" + name + "' (model expects "
            + model.inputs() + ")");
      }
    }
    if (bytes > options.maxFrameBytes()) {
      throw new InferenceException(Kind.TOO_LARGE, "inputs of " + bytes + " bytes exceed the "
          + options.maxFrameBytes() + "-byte frame limit");
    }
    return ordered;
  }

  // ---- PlanAdmin ----

  @Override
  public List<PlanInfo> plans() {
    List<PlanInfo> out = new ArrayList<>();
    for (String name : producers.keySet()) {
      Deployment d = deployments.get(name);
      String summary = d == null ? "not deployed (" + unavailable.getOrDefault(name, "re-planning") + ")"
          : "epoch " + d.epoch + ", " + d.plan.stages().size() + " stages on " + d.workers();
      out.add(new PlanInfo(model.name(), name, name.equals(active), summary));
    }
    return out;
  }

  @Override
  public void activate(String modelName, String plan) {
    if (!model.name().equals(modelName)) {
      throw new InferenceException(Kind.NOT_FOUND, "unknown model '" + modelName + "'");
    }
    if (!producers.containsKey(plan)) {
      throw new InferenceException(Kind.NOT_FOUND, "model '" + modelName + "' has no plan '" + plan + "' (it has "
          + producers.keySet() + ")");
    }
    active = plan;
    LOG.info(() -> "model '" + modelName + "': plan '" + plan + "' is active");
  }

  /** The name of the active plan. */
  public String activePlan() {
    return active;
  }

  /** For the gateway's status page: the plans serving now, each worker up or down, past recoveries. */
  @Override
  public List<String> status() {
    List<String> lines = new ArrayList<>();
    for (String name : producers.keySet()) {
      Deployment d = deployments.get(name);
      String head = "plan '" + name + "' of '" + model.name() + "'" + (name.equals(active) ? " (active)" : "");
      if (d == null) {
        String why = unavailable.get(name);
        lines.add(head + ": not deployed (" + (why == null ? "re-planning" : why) + ")");
      } else {
        lines.add(head + ": epoch " + d.epoch + ", " + pending.size() + " in flight"
            + (d.lost.isEmpty() ? "" : ", lost optional stages " + d.lost));
        d.plan.describe().lines().forEach(l -> lines.add(l.strip()));
      }
    }
    for (WorkerEndpoint w : workers) {
      lines.add("worker " + w.name() + " (" + w.address() + "): "
          + (monitor.isUp(w.name()) ? "up" : "DOWN: " + monitor.downReason(w.name())));
    }
    for (Recovery r : recoveries) {
      lines.add(String.format(Locale.ROOT,
          "recovery from %s: detected in %.3f s, recovered in %.3f s, %d requests replayed", r.worker(),
          r.detectionSeconds(), r.recoverySeconds(), r.replayed()));
    }
    return lines;
  }

  // ---- what the demo, benchmarks and tests read ----

  /** The active plan as deployed now (stages on their workers), or null while it is re-planned. */
  public Plan plan() {
    Deployment d = deployments.get(active);
    return d == null ? null : d.plan;
  }

  /** The epoch of the active plan's deployment, 0 while it is re-planned. */
  public long epoch() {
    Deployment d = deployments.get(active);
    return d == null ? 0 : d.epoch;
  }

  public List<Recovery> recoveries() {
    return List.copyOf(recoveries);
  }

  /** Cancel frames sent to workers (one per worker of the request's deployment). */
  public long cancelFrames() {
    return cancelFrames.get();
  }

  /** Results that arrived for an already answered request (replays overtaken by the original). */
  public long duplicateResults() {
    return duplicateResults.get();
  }

  /**
   * Bytes and frames per link of the active plan: coordinator to the stages it feeds, each stage's
   * worker to the workers of its consumers (the worker's whole output: exact when it hosts one
   * stage), and the stages that answer the coordinator.
   */
  public List<LinkStats> linkStats() {
    return linkStats(deployments.get(active), w -> {
      StatusReply s = status(w);
      return s == null ? null : new Sent(s.getBytesOut(), s.getFramesOut());
    });
  }

  /** What a worker sent over the network so far. */
  private record Sent(long bytes, long frames) {}

  /** {@link #linkStats()} of {@code d}, each worker's output from {@code sentBy} (null: not known). */
  private List<LinkStats> linkStats(Deployment d, Function<WorkerEndpoint, Sent> sentBy) {
    List<LinkStats> out = new ArrayList<>();
    if (d == null) {
      return out;
    }
    String firsts = String.join(",", d.fromRequest.keySet().stream()
        .flatMap(s -> d.placement.get(s).stream().map(WorkerEndpoint::name)).distinct().toList());
    out.add(new LinkStats("coordinator", firsts, bytesToStages.get(), framesToStages.get()));
    for (String id : d.plan.topologicalOrder()) {
      List<String> consumers = d.plan.links().stream().filter(e -> e.from().node().equals(id)
          && !e.to().node().equals(Plan.RESPONSE)).flatMap(e -> d.placement.get(e.to().node()).stream())
          .map(WorkerEndpoint::name).distinct().toList();
      for (WorkerEndpoint w : d.placement.get(id)) {
        if (!consumers.isEmpty()) {
          Sent s = sentBy.apply(w);
          if (s != null) {
            out.add(new LinkStats(w.name(), String.join(",", consumers), s.bytes(), s.frames()));
          }
        }
      }
    }
    Set<String> answering = new LinkedHashSet<>();
    for (Stage s : d.plan.stages()) {
      if (d.toResponse.containsKey(s.id()) || d.plan.merges().stream()
          .anyMatch(m -> m.members().stream().anyMatch(x -> x.stage().equals(s.id())))) {
        d.placement.get(s.id()).forEach(w -> answering.add(w.name()));
      }
    }
    out.add(new LinkStats(String.join(",", answering), "coordinator", bytesFromStages.get(), framesFromStages.get()));
    return out;
  }

  /** A worker's Status reply, or null when it does not answer within a second. */
  public StatusReply status(WorkerEndpoint w) {
    try {
      return WorkerControlGrpc.newBlockingStub(channels.get(w.name()))
          .withDeadlineAfter(1, TimeUnit.SECONDS).status(StatusRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      return null;
    }
  }

  public List<WorkerEndpoint> workers() {
    return workers;
  }

  /** The worker of a device name. */
  public WorkerEndpoint workerOf(String device) {
    return worker(device);
  }

  /** HOST:PORT of a worker's data port, as its heartbeats announce it; null before the first. */
  public String dataAddress(WorkerEndpoint w) {
    return monitor.dataAddress(w);
  }

  // ---- planning and deployment (on the planner thread only) ----

  private List<String> liveNames() {
    return monitor.alive().stream().map(WorkerEndpoint::name).toList();
  }

  private void workerDown(String failed, long lastSeenNanos, long detectedNanos) {
    if (closed) {
      return;
    }
    int replayed = 0;
    boolean replanned = false;
    for (String name : producers.keySet()) {
      Deployment d = deployments.get(name);
      if (d != null && d.requiredOn(failed)) {
        replayed += deploy(name, "worker " + failed + " down", d);
        replanned = true;
      } else if (d != null && d.uses(failed)) {
        markLost(d);
      }
    }
    for (Deployment old : retiring) {
      if (old.requiredOn(failed)) {
        replayed += replay(old);
      } else {
        markLost(old);
      }
    }
    Deployment now = deployments.get(active);
    if (replanned && now != null) {
      double detection = (detectedNanos - lastSeenNanos) / 1e9;
      double recovery = (System.nanoTime() - detectedNanos) / 1e9;
      CoordinatorMetrics.DETECTION_SECONDS.labelValues(now.plan.model()).set(detection);
      CoordinatorMetrics.RECOVERY_SECONDS.labelValues(now.plan.model()).set(recovery);
      recoveries.add(new Recovery(failed, "worker " + failed + " down", detectedNanos, detection, recovery, replayed,
          now.epoch, now.plan.describe()));
    }
  }

  /** Optional stages without a live replica are lost: their merges stop waiting for them. */
  private void markLost(Deployment d) {
    for (Stage s : d.plan.stages()) {
      if (s.optional() && s.devices().stream().noneMatch(monitor::isUp)) {
        d.lost.add(s.id());
      }
    }
    pending.values().stream().filter(p -> p.bound == d).forEach(this::check);
  }

  private void workerUp(String back) {
    if (closed) {
      return;
    }
    Set<Long> stale = undrained.remove(back);
    if (stale != null) {
      stale.forEach(epoch -> drain(back, epoch));
    }
    for (String name : producers.keySet()) {
      Deployment d = deployments.get(name);
      // a plan that lost stages is redeployed: the worker may have restarted without them
      if (d == null || !d.lost.isEmpty() || !d.aliveAtPlan.equals(Set.copyOf(liveNames()))) {
        deploy(name, "worker " + back + " up", null);
      }
    }
  }

  /**
   * Plans {@code planName} on the live workers, deploys it under a new epoch and makes it the
   * plan's deployment. With {@code broken} (it lost a required stage) its unanswered requests are
   * replayed on the new one; otherwise the old deployment finishes its requests and is drained.
   *
   * @return how many requests were replayed
   */
  private int deploy(String planName, String reason, Deployment broken) {
    Deployment old = deployments.get(planName);
    if (broken != null) {
      setDeployment(planName, null); // requests arriving now wait for the new plan
    }
    unavailable.remove(planName);
    for (int attempt = 0; attempt <= workers.size(); attempt++) {
      List<String> alive = liveNames();
      if (alive.isEmpty()) {
        return planUnavailable(planName, "no live workers (" + String.join("; ", workers.stream()
            .map(w -> w.name() + ": " + monitor.downReason(w.name())).toList()) + ")", old);
      }
      PlanBundle bundle;
      try {
        bundle = producers.get(planName).plan(alive);
        bundle.plan().validateDevices(alive);
      } catch (InfeasibleInstanceException | IllegalArgumentException e) {
        return planUnavailable(planName, "no plan fits the " + alive.size() + " live workers: " + e.getMessage(), old);
      }
      long epoch = EPOCHS.incrementAndGet();
      Deployment d = new Deployment(epoch, bundle, Set.copyOf(alive));
      String failure = deployStages(d);
      if (failure != null) {
        LOG.warning("deploying epoch " + epoch + " of plan '" + planName + "' failed: " + failure);
        drain(d);
        continue;
      }
      subscribe(d);
      CoordinatorMetrics.REPLANS.labelValues(bundle.plan().model(), planName).inc();
      LOG.info(() -> "plan '" + planName + "', epoch " + epoch + " (" + reason + "):\n" + bundle.plan().describe());
      setDeployment(planName, d);
      if (old != null && broken == null) {
        retiring.add(old);
        return 0;
      }
      return old == null ? 0 : replay(old);
    }
    return planUnavailable(planName, "deployment kept failing", old);
  }

  /** Sends the unanswered requests of a deployment again, on their plan's current one. */
  private int replay(Deployment old) {
    int replayed = 0;
    for (Pending p : pending.values()) {
      if (p.bound == old) {
        p.bound = null;
        replayed++;
        cancelWork(p, old, "replayed on a new plan");
        sendQueue.add(p);
      }
    }
    retiring.remove(old);
    drain(old);
    CoordinatorMetrics.REPLAYED.labelValues(old.plan.model(), old.plan.name()).inc(replayed);
    return replayed;
  }

  private int planUnavailable(String planName, String why, Deployment old) {
    unavailable.put(planName, why);
    LOG.warning("plan '" + planName + "' unavailable: " + why);
    for (Pending p : pending.values()) {
      if (p.planName.equals(planName) && (p.bound == null || p.bound == old)) {
        fail(p, new InferenceException(Kind.UNAVAILABLE, "plan '" + planName + "' unavailable: " + why));
      }
    }
    return 0;
  }

  /** Deploys every stage replica in parallel; returns why it failed, or null. */
  private String deployStages(Deployment d) {
    List<CompletableFuture<String>> results = new ArrayList<>();
    for (Stage s : d.plan.stages()) {
      DeployRequest req = deployRequest(d, s);
      for (WorkerEndpoint w : d.placement.get(s.id())) {
        results.add(CompletableFuture.supplyAsync(() -> {
          try {
            WorkerControlGrpc.newBlockingStub(channels.get(w.name()))
                .withDeadlineAfter(DEPLOY_DEADLINE_MILLIS, TimeUnit.MILLISECONDS).deploy(req);
            return null;
          } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
              monitor.markDown(w, "deploy failed: " + e.getStatus());
            }
            return "worker " + w.name() + ", stage " + s.id() + ": " + e.getStatus().getCode() + " "
                + e.getStatus().getDescription();
          }
        }, deployCalls));
      }
    }
    List<String> failures = results.stream().map(CompletableFuture::join).filter(f -> f != null).toList();
    return failures.isEmpty() ? null : String.join("; ", failures);
  }

  /** A stage's deployment: its model, and a route to every consumer (stages on any worker, the coordinator). */
  private DeployRequest deployRequest(Deployment d, Stage s) {
    byte[] onnx = d.bundle.model(s);
    DeployRequest.Builder req = DeployRequest.newBuilder()
        .setPlanEpoch(d.epoch)
        .setStageId(s.id())
        .setPlan(d.plan.name())
        .setOnnxModel(ByteString.copyFrom(onnx))
        .setSha256Hex(Checksums.sha256Hex(onnx))
        .setReferenceSeconds(s.referenceSeconds())
        .addAllInputNames(s.inputs())
        .addAllOutputNames(s.outputs());
    Map<String, Route.Builder> routes = new LinkedHashMap<>();
    for (Edge e : d.plan.links()) {
      if (!e.from().node().equals(s.id())) {
        continue;
      }
      String to = e.to().node().equals(Plan.RESPONSE) ? "" : e.to().node();
      String input = to.isEmpty() ? e.from().tensor() : e.to().tensor();
      Route.Builder r = routes.computeIfAbsent(to, k -> newRoute(d, k));
      if (to.isEmpty() && r.getTensorsList().stream().anyMatch(t -> t.getOutput().equals(e.from().tensor()))) {
        continue; // the coordinator takes each output once
      }
      TensorCodec codec = TensorCodec.parse(e.codec());
      r.addTensors(RoutedTensor.newBuilder().setOutput(e.from().tensor()).setInput(input).setCodec(codec.id())
          .setEntropy(codec.entropy()));
    }
    for (Merge m : d.plan.merges()) {
      for (Merge.Member member : m.members()) {
        if (!member.stage().equals(s.id())) {
          continue;
        }
        Route.Builder r = routes.computeIfAbsent("", k -> newRoute(d, k));
        for (String t : member.tensors().values()) {
          if (r.getTensorsList().stream().noneMatch(x -> x.getOutput().equals(t))) {
            r.addTensors(RoutedTensor.newBuilder().setOutput(t).setInput(t).setCodec(TensorCodec.parse("raw").id()));
          }
        }
      }
    }
    routes.values().forEach(r -> req.addRoutes(r));
    return req.build();
  }

  private Route.Builder newRoute(Deployment d, String toStage) {
    Route.Builder r = Route.newBuilder().setToStage(toStage);
    if (!toStage.isEmpty()) {
      // a worker that announced no data port gets an empty address, which the deploy refuses
      d.placement.get(toStage).forEach(w -> r.addReplicas(Optional.ofNullable(monitor.dataAddress(w)).orElse(""))
          .addReplicaNames(w.name()));
    }
    return r;
  }

  /** Listens for what the deployment's stages send the coordinator, on every worker it uses. */
  private void subscribe(Deployment d) {
    for (String name : d.workers()) {
      String at = monitor.dataAddress(worker(name));
      if (at == null) {
        LOG.warning(() -> "worker " + name + " has announced no data port: no results of epoch " + d.epoch + " from it");
        continue;
      }
      d.subscriptions.add(DataLink.results(name, at, security, options.maxFrameBytes(), loop, d.epoch,
          new DataLink.Listener() {
            @Override
            public void result(Frame f) {
              onResult(f);
            }

            @Override
            public void broken(String why) {
              LOG.fine(() -> "results of epoch " + d.epoch + " from " + name + " ended: " + why);
            }
          }));
    }
  }

  /**
   * Ends a deployment: stops listening and drains its stages on the live workers (on the others
   * when they come back).
   */
  private void drain(Deployment d) {
    d.subscriptions.forEach(DataLink::close);
    for (String name : d.workers()) {
      if (monitor.isUp(name)) {
        drain(name, d.epoch);
      } else {
        undrained.computeIfAbsent(name, k -> ConcurrentHashMap.newKeySet()).add(d.epoch);
      }
    }
  }

  private void drain(String worker, long epoch) {
    WorkerControlGrpc.newStub(channels.get(worker))
        .withDeadlineAfter(DEPLOY_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
        .drain(DrainRequest.newBuilder().setPlanEpoch(epoch).build(), new StreamObserver<>() {
          @Override
          public void onNext(dev.shoal.runtime.wire.proto.DrainReply r) {}

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        });
  }

  private void setDeployment(String planName, Deployment d) {
    synchronized (deploymentLock) {
      if (d == null) {
        deployments.remove(planName);
      } else {
        deployments.put(planName, d);
      }
      deploymentLock.notifyAll();
    }
  }

  // ---- data path ----

  private void sendLoop() {
    while (!closed) {
      Pending p;
      try {
        p = sendQueue.poll(200, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      if (p == null || pending.get(p.id) != p) {
        continue;
      }
      Deployment d = awaitDeployment(p.planName);
      if (d == null) {
        if (closed) {
          return;
        }
        continue; // the plan became unavailable: the request was failed
      }
      if (p.bound == d) {
        continue;
      }
      send(p, d);
    }
  }

  private void send(Pending p, Deployment d) {
    p.outputs.clear();
    p.failures.clear();
    p.bound = d;
    String unroutable = route(p, d);
    if (unroutable != null) {
      fail(p, new InferenceException(Kind.UNAVAILABLE, unroutable));
      return;
    }
    for (Map.Entry<String, List<Edge>> target : d.fromRequest.entrySet()) {
      String stageId = target.getKey();
      if (d.lost.contains(stageId) || p.notSent.contains(stageId)) {
        continue;
      }
      WorkerEndpoint w = replicaFor(p, d, stageId);
      Frame frame = requestFrame(p, d, stageId, target.getValue());
      try {
        stream(w).send(frame, SEND_TIMEOUT_MILLIS);
        bytesToStages.addAndGet(Frames.wireBytes(frame));
        framesToStages.incrementAndGet();
      } catch (IOException e) {
        if (d.stage(stageId).optional()) {
          p.failures.put(stageId, "unreachable: " + e.getMessage());
          check(p);
        } else if (p.bound == d) {
          // unreachable: heartbeats will tell; keep the request for the next plan
          p.bound = null;
          timer.schedule(() -> sendQueue.add(p), 100, TimeUnit.MILLISECONDS);
          return;
        }
      }
    }
    if (pending.get(p.id) != p) {
      cancelWork(p, d, "ended while it was being sent"); // cancelled before it was bound: nothing else cancels it
    }
  }

  /**
   * Tells every live worker of {@code d} to drop the request's work there (queued, waiting for
   * inputs, running) and never send it on. Off the caller's thread: a cancel never blocks an
   * answer, a failure or the caller that gave up.
   */
  private void cancelWork(Pending p, Deployment d, String reason) {
    if (d == null || closed) {
      return;
    }
    Frame cancel = Frames.cancel(p.id, d.epoch, p.deadlineMicros, reason);
    List<String> live = d.workers().stream().filter(monitor::isUp).toList();
    cancels.execute(() -> {
      for (String name : live) {
        try {
          cancelStream(name).send(cancel, SEND_TIMEOUT_MILLIS);
          cancelFrames.incrementAndGet();
        } catch (IOException e) {
          LOG.fine(() -> "cancel of request " + p.id + " not sent to " + name + ": " + e.getMessage());
        }
      }
    });
  }

  private DataLink cancelStream(String worker) throws IOException {
    return link(cancelStreams, worker(worker), new DataLink.Listener() {
      @Override
      public void rejected(long requestId, String error) {
        LOG.fine(() -> "worker " + worker + " refused the cancel of request " + requestId + ": " + error);
      }

      @Override
      public void broken(String why) {
        LOG.fine(() -> "cancel link to " + worker + " broke: " + why);
      }
    });
  }

  /**
   * The push link to a worker's data port, made on first use and made again when the port its
   * heartbeats announce changed (a restarted worker).
   *
   * @throws IOException when the worker has announced no data port yet
   */
  private DataLink link(Map<String, DataLink> links, WorkerEndpoint w, DataLink.Listener listener) throws IOException {
    String at = monitor.dataAddress(w);
    if (at == null) {
      throw new IOException("worker " + w.name() + " has announced no data port");
    }
    synchronized (links) {
      DataLink l = links.get(w.name());
      if (l != null && l.address().equals(at)) {
        return l;
      }
      DataLink fresh = DataLink.push(w.name(), at, security, options.maxFrameBytes(), loop, listener);
      if (l != null) {
        l.close();
      }
      links.put(w.name(), fresh);
      return fresh;
    }
  }

  private static WorkerEndpoint replicaFor(Pending p, Deployment d, String stageId) {
    List<WorkerEndpoint> replicas = d.placement.get(stageId);
    return replicas.get(Math.floorMod(p.id, replicas.size()));
  }

  /**
   * Routed merges: each chooses the member this request goes to (see RequestRouter); the others are
   * not sent it.
   *
   * @return why the request cannot be routed (every member tried or lost), or null
   */
  private String route(Pending p, Deployment d) {
    releaseRoutes(p);
    p.notSent.clear();
    for (Merge m : d.plan.merges()) {
      if (!(m.rule() instanceof MergeRule.Routed)) {
        continue;
      }
      Set<String> excluded = new HashSet<>(p.tried);
      excluded.addAll(d.lost);
      String chosen = router.choose(m, p.id, excluded, stage -> replicaFor(p, d, stage).name());
      for (Merge.Member member : m.members()) {
        if (!member.stage().equals(chosen)) {
          p.notSent.add(member.stage());
        }
      }
      if (chosen == null) {
        return "no member of merge '" + m.id() + "' left for request " + p.id + " (failed: " + p.tried + ", lost: "
            + d.lost + ")";
      }
      p.routed.put(m.id(), chosen);
      p.routedDevices.add(replicaFor(p, d, chosen).name());
    }
    return null;
  }

  private void releaseRoutes(Pending p) {
    router.release(p.routedDevices);
    p.routedDevices.clear();
    p.routed.clear();
  }

  /**
   * A routed member that failed this request or whose worker was lost hands it to another member,
   * if one is left: the request is sent again, on the same deployment.
   */
  private boolean rerouted(Pending p, Deployment d) {
    for (Map.Entry<String, String> r : p.routed.entrySet()) {
      String stage = r.getValue();
      if (p.outputs.containsKey(stage) || !(p.failures.containsKey(stage) || d.lost.contains(stage))) {
        continue;
      }
      p.tried.add(stage);
      Merge m = d.plan.merges().stream().filter(x -> x.id().equals(r.getKey())).findFirst().orElseThrow();
      if (m.members().stream().allMatch(x -> p.tried.contains(x.stage()) || d.lost.contains(x.stage()))) {
        continue; // nobody left: the merge answers from what it has, or the request fails
      }
      synchronized (p) {
        if (p.bound != d) {
          return true;
        }
        p.bound = null;
      }
      sendQueue.add(p);
      return true;
    }
    return false;
  }

  private DataLink stream(WorkerEndpoint w) throws IOException {
    return link(streams, w, new DataLink.Listener() {
      @Override
      public void rejected(long requestId, String error) {
        Pending p = pending.get(requestId);
        if (p != null && p.bound != null) {
          LOG.warning(() -> "worker " + w.name() + " refused request " + requestId + ": " + error + "; resending");
          p.bound = null;
          timer.schedule(() -> sendQueue.add(p), 50, TimeUnit.MILLISECONDS);
        }
      }

      @Override
      public void broken(String why) {
        LOG.fine(() -> "link to " + w.name() + " broke: " + why);
      }
    });
  }

  private Deployment awaitDeployment(String planName) {
    synchronized (deploymentLock) {
      while (!closed && !deployments.containsKey(planName) && !unavailable.containsKey(planName)) {
        try {
          deploymentLock.wait(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return null;
        }
      }
      return closed ? null : deployments.get(planName);
    }
  }

  private void onResult(Frame f) {
    bytesFromStages.addAndGet(Frames.wireBytes(f));
    framesFromStages.incrementAndGet();
    Pending p = pending.get(f.getRequestId());
    if (p == null) {
      duplicateResults.incrementAndGet();
      return;
    }
    Deployment d = p.bound;
    if (d == null || d.epoch != f.getPlanEpoch()) {
      return; // a superseded epoch: the replay answers it
    }
    Stage from = d.stage(f.getFromStage());
    if (from == null) {
      fail(p, new InferenceException(Kind.INTERNAL, "a result from unknown stage '" + f.getFromStage() + "'"));
      return;
    }
    if (!f.getError().isEmpty()) {
      if (from.optional()) {
        p.failures.put(from.id(), f.getError());
        check(p);
      } else {
        fail(p, new InferenceException(Kind.INTERNAL, f.getError()));
      }
      return;
    }
    try {
      p.outputs.put(from.id(), Frames.decode(f, options.maxFrameBytes()));
    } catch (FrameException e) {
      if (from.optional()) {
        p.failures.put(from.id(), "corrupted answer: " + e.getMessage());
      } else {
        fail(p, new InferenceException(Kind.INTERNAL, "corrupted result: " + e.getMessage()));
        return;
      }
    }
    check(p);
  }

  /** Answers the request if everything its response needs is here. */
  private void check(Pending p) {
    Deployment d = p.bound;
    if (d == null || pending.get(p.id) != p || rerouted(p, d)) {
      return;
    }
    for (Map.Entry<String, List<Edge>> e : d.toResponse.entrySet()) {
      Map<String, TensorData> out = p.outputs.get(e.getKey());
      if (out == null) {
        return;
      }
    }
    for (Merge m : d.plan.merges()) {
      boolean answeredAny = false;
      boolean waiting = false;
      for (Merge.Member member : m.members()) {
        if (p.notSent.contains(member.stage())) {
          continue;
        }
        if (p.outputs.containsKey(member.stage())) {
          answeredAny = true;
        } else if (!p.failures.containsKey(member.stage()) && !d.lost.contains(member.stage())) {
          waiting = true;
        }
      }
      if (waiting && !(p.mergeNow && answeredAny)) {
        return;
      }
    }
    answer(p, d);
  }

  private void answer(Pending p, Deployment d) {
    boolean membersLeftOut = false;
    Map<String, TensorData> made = new LinkedHashMap<>();
    Map<String, String> params = new LinkedHashMap<>();
    params.put(PARAM_PLAN, d.plan.name());
    params.put(PARAM_EPOCH, Long.toString(d.epoch));
    try {
      for (Map.Entry<String, List<Edge>> e : d.toResponse.entrySet()) {
        Map<String, TensorData> out = p.outputs.get(e.getKey());
        for (Edge edge : e.getValue()) {
          TensorData t = out.get(edge.from().tensor());
          if (t == null) {
            throw new InferenceException(Kind.INTERNAL, "stage '" + e.getKey() + "' did not return '"
                + edge.from().tensor() + "' (returned " + out.keySet() + ")");
          }
          made.put(edge.to().tensor(), t.withName(edge.to().tensor()));
        }
      }
      List<String> answered = new ArrayList<>();
      List<String> missing = new ArrayList<>();
      Set<String> answering = new LinkedHashSet<>(d.toResponse.keySet());
      for (Merge m : d.plan.merges()) {
        List<Mergers.Answer> answers = new ArrayList<>();
        for (Merge.Member member : m.members()) {
          if (p.notSent.contains(member.stage())) {
            continue;
          }
          Map<String, TensorData> out = p.outputs.get(member.stage());
          if (out == null) {
            String why = p.failures.getOrDefault(member.stage(), d.lost.contains(member.stage())
                ? "its worker is down" : "no answer in time");
            missing.add(member.name() + ": " + why);
            MergeMetrics.MEMBER_REPLIES.labelValues(model.name(), member.name(), "missing").inc();
            continue;
          }
          Map<String, TensorData> byRole = new LinkedHashMap<>();
          member.tensors().forEach((role, tensor) -> byRole.put(role, out.get(tensor)));
          if (byRole.containsValue(null)) {
            missing.add(member.name() + ": its answer lacks " + member.tensors().values());
            continue;
          }
          answers.add(new Mergers.Answer(member, byRole));
        }
        if (answers.isEmpty()) {
          throw new InferenceException(Kind.UNAVAILABLE, "no member of merge '" + m.id() + "' answered ("
              + String.join("; ", missing) + ")");
        }
        Mergers.Merged merged = d.mergers.get(m.id()).merge(m, answers, !missing.isEmpty());
        merged.answered().forEach(n -> MergeMetrics.MEMBER_REPLIES.labelValues(model.name(), n, "answered").inc());
        answered.addAll(merged.answered());
        missing.addAll(merged.rejected());
        if (merged.answered().isEmpty()) {
          throw new InferenceException(Kind.UNAVAILABLE, "no usable answer in merge '" + m.id() + "' ("
              + String.join("; ", missing) + ")");
        }
        made.putAll(merged.outputs());
        m.members().stream().filter(x -> merged.answered().contains(x.name())).forEach(x -> answering.add(x.stage()));
      }
      if (!d.plan.merges().isEmpty()) {
        params.put(PARAM_DEGRADED, Boolean.toString(!missing.isEmpty()));
        params.put(PARAM_ANSWERED, String.join(",", answered));
        if (!missing.isEmpty()) {
          membersLeftOut = true;
          params.put(PARAM_MISSING, String.join("; ", missing));
          MergeMetrics.DEGRADED.labelValues(model.name()).inc();
        }
      }
      params.putAll(producers.get(d.plan.name()).answerParameters(d.plan, answering));
    } catch (InferenceException e) {
      fail(p, e);
      return;
    }
    Map<String, TensorData> ordered = new LinkedHashMap<>();
    for (TensorSpec spec : model.outputs()) {
      ordered.put(spec.name(), made.get(spec.name()));
    }
    if (pending.remove(p.id, p)) {
      finish(p, "ok");
      if (membersLeftOut) {
        cancelWork(p, d, "answered without the members still running");
      }
      p.future.complete(new InferenceResult(ordered, params));
    } else {
      duplicateResults.incrementAndGet();
    }
  }

  /** At the deadline: a request whose merges have answers is answered from them; any other fails. */
  private void atDeadline(Pending p) {
    if (pending.get(p.id) != p) {
      return;
    }
    p.mergeNow = true;
    check(p);
    fail(p, new InferenceException(Kind.DEADLINE, "no answer by the deadline (request " + p.id + ", plan '"
        + p.planName + "')"));
  }

  private void fail(Pending p, InferenceException e) {
    if (pending.remove(p.id, p)) {
      finish(p, e.kind().name().toLowerCase(Locale.ROOT));
      cancelWork(p, p.bound, e.kind() == Kind.DEADLINE ? "deadline" : "failed: " + e.getMessage());
      p.future.completeExceptionally(e);
    }
  }

  private void finish(Pending p, String outcome) {
    p.timers.forEach(t -> t.cancel(false));
    releaseRoutes(p);
    if (p.members != null) {
      return; // a batch: its requests are counted one by one
    }
    CoordinatorMetrics.IN_FLIGHT.labelValues(model.name()).set(pending.size());
    CoordinatorMetrics.REQUESTS.labelValues(model.name(), p.planName, outcome).inc();
    CoordinatorMetrics.LATENCY.labelValues(model.name(), p.planName).observe((System.nanoTime() - p.startNanos) / 1e9);
  }

  /** Once a second: drain retired deployments with nothing left in flight, publish stage metrics. */
  private void housekeeping() {
    for (Deployment old : retiring) {
      if (pending.values().stream().noneMatch(p -> p.bound == old)) {
        retiring.remove(old);
        planThread.execute(() -> drain(old));
      }
    }
    Deployment d = deployments.get(active);
    if (d == null) {
      return;
    }
    try {
      // the workers' counters come with their heartbeats: the gauges cost no call
      for (LinkStats l : linkStats(d, w -> {
        HeartbeatReply r = monitor.lastAnswer(w.name());
        return r == null ? null : new Sent(r.getBytesOut(), r.getFramesOut());
      })) {
        CoordinatorMetrics.LINK_BYTES.labelValues(model.name(), active, l.from() + "->" + l.to()).set(l.bytes());
      }
      for (String name : d.workers()) {
        HeartbeatReply r = monitor.lastAnswer(name);
        if (r != null) {
          CoordinatorMetrics.STAGE_COMPUTE_SECONDS.labelValues(model.name(), name).set(r.getComputeSeconds());
          CoordinatorMetrics.STAGE_QUEUE_SECONDS.labelValues(model.name(), name).set(r.getQueueSeconds());
        }
      }
    } catch (RuntimeException e) {
      LOG.fine(() -> "metrics poll failed: " + e);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    synchronized (deploymentLock) {
      deploymentLock.notifyAll();
    }
    for (Pending p : pending.values()) {
      fail(p, new InferenceException(Kind.UNAVAILABLE, "the coordinator shut down"));
    }
    List<Deployment> all = new ArrayList<>(deployments.values());
    all.addAll(retiring);
    for (Deployment d : all) {
      drain(d);
    }
    sender.interrupt();
    cancels.shutdownNow();
    planThread.shutdownNow();
    deployCalls.shutdownNow();
    timer.shutdownNow();
    heartbeatTimer.shutdownNow();
    housekeeper.shutdownNow();
    heartbeatChannels.forEach(ManagedChannel::shutdownNow);
    streams.values().forEach(DataLink::close);
    cancelStreams.values().forEach(DataLink::close);
    loop.close();
    channels.values().forEach(ManagedChannel::shutdown);
    for (ManagedChannel ch : channels.values()) {
      try {
        if (!ch.awaitTermination(2, TimeUnit.SECONDS)) {
          ch.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        ch.shutdownNow();
      }
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
