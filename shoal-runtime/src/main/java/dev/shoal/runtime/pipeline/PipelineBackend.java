package dev.shoal.runtime.pipeline;

import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.serving.InferenceCall;
import com.google.protobuf.ByteString;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.HeartbeatMonitor;
import dev.shoal.runtime.coordinator.PlannedPipeline;
import dev.shoal.runtime.coordinator.PlannedStage;
import dev.shoal.runtime.coordinator.StagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import dev.shoal.runtime.wire.Checksums;
import dev.shoal.runtime.wire.FrameException;
import dev.shoal.runtime.wire.FrameStream;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.DeployRequest;
import dev.shoal.runtime.wire.proto.DrainRequest;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.ResultsRequest;
import dev.shoal.runtime.wire.proto.StageDataGrpc;
import dev.shoal.runtime.wire.proto.StatusReply;
import dev.shoal.runtime.wire.proto.StatusRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
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
import java.util.logging.Logger;

/**
 * Serves one model from a pipeline of workers: plans over the live workers, deploys the stages
 * (checksummed), streams requests into the first stage and takes answers from the last; the
 * stages forward to each other directly. When a worker fails (heartbeats, {@link
 * HeartbeatMonitor}) it re-plans on the survivors, redeploys under a new plan epoch and replays
 * every unanswered request. Each accepted request completes exactly once: with its answer, or an
 * explicit {@link InferenceException} (deadline, no plan possible, a stage's error).
 */
public final class PipelineBackend implements ServingBackend {
  private static final Logger LOG = Logger.getLogger(PipelineBackend.class.getName());
  private static final long DEPLOY_DEADLINE_MILLIS = 60_000;
  private static final long SEND_TIMEOUT_MILLIS = 5_000;
  /** How long the workers get to answer a first heartbeat at start (JVMs starting on a busy host). */
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(20);

  /** Limits and the codec of the link from the coordinator into the first stage. */
  public record Options(int maxInFlight, Duration requestTimeout, TensorCodec inputCodec, int maxFrameBytes) {
    public static final Options DEFAULT =
        new Options(1024, Duration.ofSeconds(30), TensorCodec.parse("raw"), Frames.DEFAULT_MAX_FRAME_BYTES);
  }

  /**
   * One failure and its handling: how long after the worker's last answered heartbeat it was
   * declared down ({@code detectedAtNanos} on this process's {@link System#nanoTime} clock), how
   * long the re-plan, redeploy and replay then took, and how many requests were replayed.
   */
  public record Recovery(String worker, String reason, long detectedAtNanos, double detectionSeconds,
      double recoverySeconds, int replayed, long epoch, String plan) {}

  /** Bytes and frames a link carried under the current plan. */
  public record LinkStats(String from, String to, long bytes, long frames) {}

  private record Deployment(long epoch, PlannedPipeline plan, Set<String> aliveAtPlan,
      FrameStream toFirst, Context.CancellableContext results) {
    WorkerEndpoint first() {
      return plan.stages().get(0).worker();
    }

    boolean uses(String worker) {
      return plan.stages().stream().anyMatch(s -> s.worker().name().equals(worker));
    }
  }

  private static final class Pending {
    final long id;
    final List<TensorData> inputs;
    final CompletableFuture<Map<String, TensorData>> future = new CompletableFuture<>();
    final long startNanos = System.nanoTime();
    volatile long sentEpoch;
    volatile ScheduledFuture<?> deadline;

    Pending(long id, List<TensorData> inputs) {
      this.id = id;
      this.inputs = inputs;
    }
  }

  private final ServedModel model;
  private final List<WorkerEndpoint> workers;
  private final Map<String, ManagedChannel> channels = new LinkedHashMap<>();
  private final StagePlanner planner;
  private final Options options;
  private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2, daemon("pipeline-timer"));
  /** Heartbeats have their own timer thread and channels (see GrpcChannels#heartbeatClient). */
  private final ScheduledExecutorService heartbeatTimer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = daemon("pipeline-heartbeats").newThread(r);
    t.setPriority(Thread.MAX_PRIORITY);
    return t;
  });
  private final List<ManagedChannel> heartbeatChannels = new ArrayList<>();
  private final ExecutorService planThread = Executors.newSingleThreadExecutor(daemon("pipeline-planner"));
  private final ExecutorService deployCalls = Executors.newCachedThreadPool(daemon("pipeline-deploy"));
  private final HeartbeatMonitor monitor;
  private final ConcurrentSkipListMap<Long, Pending> pending = new ConcurrentSkipListMap<>();
  private final LinkedBlockingQueue<Long> sendQueue = new LinkedBlockingQueue<>();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicLong bytesToFirst = new AtomicLong();
  private final AtomicLong framesToFirst = new AtomicLong();
  private final AtomicLong bytesFromLast = new AtomicLong();
  private final AtomicLong framesFromLast = new AtomicLong();
  private final AtomicLong duplicateResults = new AtomicLong();
  private final List<Recovery> recoveries = new CopyOnWriteArrayList<>();
  private final Object deploymentLock = new Object();
  private final Thread sender;
  private volatile Deployment current;
  /** Why requests are refused now; null while a plan serves or a re-plan is under way. */
  private volatile String unavailableReason = "not deployed yet";
  private volatile boolean closed;
  /**
   * Plan epochs grow across coordinator restarts too (workers refuse an older epoch than the one
   * they run), so they start from the clock: milliseconds since 1970 when this coordinator began.
   */
  private long epochCounter = System.currentTimeMillis();

  private PipelineBackend(ServedModel model, List<WorkerEndpoint> workers, StagePlanner planner,
      PeerSecurity security, Options options) {
    this.model = model;
    this.workers = List.copyOf(workers);
    this.planner = planner;
    this.options = options;
    Map<WorkerEndpoint, ManagedChannel> byWorker = new LinkedHashMap<>();
    for (WorkerEndpoint w : workers) {
      channels.put(w.name(), GrpcChannels.client(w.name(), w.address(), security, options.maxFrameBytes()));
      ManagedChannel beats = GrpcChannels.heartbeatClient(w.name(), w.address(), security);
      heartbeatChannels.add(beats);
      byWorker.put(w, beats);
      PipelineMetrics.WORKER_UP.labelValues(w.name()).set(1);
    }
    this.monitor = new HeartbeatMonitor(byWorker, heartbeatTimer, new HeartbeatMonitor.Listener() {
      @Override
      public void down(WorkerEndpoint w, long lastSeenNanos, String why) {
        long detected = System.nanoTime();
        PipelineMetrics.WORKER_UP.labelValues(w.name()).set(0);
        LOG.warning(() -> "worker " + w.name() + " is down: " + why);
        planThread.execute(() -> replanIfNeeded("worker " + w.name() + " down", w.name(), lastSeenNanos, detected));
      }

      @Override
      public void up(WorkerEndpoint w) {
        PipelineMetrics.WORKER_UP.labelValues(w.name()).set(1);
        LOG.info(() -> "worker " + w.name() + " is up again");
        planThread.execute(() -> replanIfNeeded("worker " + w.name() + " up", null, 0, 0));
      }
    });
    this.sender = new Thread(this::sendLoop, "pipeline-sender");
    this.sender.setDaemon(true);
  }

  /**
   * Plans, deploys and starts serving; heartbeats run from here on.
   *
   * @throws InferenceException (UNAVAILABLE) when no pipeline can be deployed on the workers
   */
  public static PipelineBackend start(ServedModel model, List<WorkerEndpoint> workers, StagePlanner planner,
      PeerSecurity security, Options options) {
    if (workers.isEmpty()) {
      throw new IllegalArgumentException("a pipeline needs at least one worker");
    }
    PipelineBackend b = new PipelineBackend(model, workers, planner, security, options);
    b.sender.start();
    b.monitor.connect(CONNECT_TIMEOUT);
    try {
      b.planThread.submit(() -> b.replanIfNeeded("initial plan", null, 0, 0)).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      b.close();
      throw new IllegalStateException("initial deployment failed: " + e.getCause(), e.getCause());
    }
    if (b.current == null) {
      String why = b.unavailableReason;
      b.close();
      throw new InferenceException(Kind.UNAVAILABLE, "cannot deploy the pipeline: " + why);
    }
    b.monitor.start();
    b.timer.scheduleAtFixedRate(b::pollStageMetrics, 1, 1, TimeUnit.SECONDS);
    return b;
  }

  // ---- ServingBackend ----

  @Override
  public List<ServedModel> models() {
    return List.of(model);
  }

  /**
   * True while requests are taken and will be answered: a plan serves, or a re-plan after a
   * failure is under way (requests wait for the new plan rather than being refused, so that a
   * failover loses none). False before the first deployment, when no plan fits the live workers,
   * and after close.
   */
  @Override
  public boolean ready() {
    return !closed && unavailableReason == null;
  }

  @Override
  public CompletableFuture<InferenceResult> infer(InferenceCall call) {
    return run(call.model(), call.inputs()).thenApply(InferenceResult::of);
  }

  private CompletableFuture<Map<String, TensorData>> run(String modelName, Map<String, TensorData> inputs) {
    if (!model.name().equals(modelName)) {
      return CompletableFuture.failedFuture(new InferenceException(Kind.NOT_FOUND,
          "unknown model '" + modelName + "' (this pipeline serves '" + model.name() + "')"));
    }
    List<TensorData> ordered;
    try {
      ordered = checkInputs(inputs);
    } catch (InferenceException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (closed) {
      return CompletableFuture.failedFuture(new InferenceException(Kind.UNAVAILABLE, "pipeline is shut down"));
    }
    String refusal = unavailableReason;
    if (refusal != null) {
      return CompletableFuture.failedFuture(new InferenceException(Kind.UNAVAILABLE,
          "pipeline not available: " + refusal));
    }
    if (pending.size() >= options.maxInFlight()) {
      return CompletableFuture.failedFuture(new InferenceException(Kind.UNAVAILABLE,
          "too many requests in flight (" + options.maxInFlight() + "); retry later"));
    }
    Pending p = new Pending(ids.incrementAndGet(), ordered);
    pending.put(p.id, p);
    PipelineMetrics.IN_FLIGHT.set(pending.size());
    p.deadline = timer.schedule(() -> fail(p, new InferenceException(Kind.DEADLINE,
        "no answer within " + options.requestTimeout().toMillis() + " ms (request " + p.id + ")")),
        options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
    sendQueue.add(p.id);
    return p.future;
  }

  private List<TensorData> checkInputs(Map<String, TensorData> inputs) {
    List<TensorData> ordered = new ArrayList<>();
    long bytes = 0;
    for (TensorSpec spec : model.inputs()) {
      TensorData t = inputs.get(spec.name());
      if (t == null) {
        throw new InferenceException(Kind.BAD_INPUT, "missing input '" + spec.name() + "' (model expects "
            + model.inputs() + ")");
      }
      if (!spec.accepts(t)) {
        throw new InferenceException(Kind.BAD_INPUT, "input '" + spec.name() + "' is " + t.dtype()
            + java.util.Arrays.toString(t.shape()) + ", model expects " + spec);
      }
      bytes += t.data().length;
      ordered.add(t.name().equals(spec.name()) ? t : t.withName(spec.name()));
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

  /** For the gateway's status page: the plan serving now, each worker up or down, past recoveries. */
  @Override
  public List<String> status() {
    List<String> lines = new ArrayList<>();
    Deployment d = current;
    if (d == null) {
      String why = unavailableReason;
      lines.add("pipeline '" + model.name() + "': no plan deployed (" + (why == null ? "re-planning" : why) + ")");
    } else {
      lines.add("pipeline '" + model.name() + "': plan epoch " + d.epoch() + ", " + pending.size() + " in flight");
      d.plan().describe().lines().forEach(l -> lines.add(l.strip()));
    }
    for (WorkerEndpoint w : workers) {
      lines.add("worker " + w.name() + " (" + w.address() + "): "
          + (monitor.isUp(w.name()) ? "up" : "DOWN: " + monitor.downReason(w.name())));
    }
    for (Recovery r : recoveries) {
      lines.add(String.format(java.util.Locale.ROOT,
          "recovery from %s: detected in %.3f s, recovered in %.3f s, %d requests replayed", r.worker(),
          r.detectionSeconds(), r.recoverySeconds(), r.replayed()));
    }
    return lines;
  }

  // ---- what the demo, benchmarks and tests read ----

  /** The plan serving now, or null while none is deployed. */
  public PlannedPipeline plan() {
    Deployment d = current;
    return d == null ? null : d.plan();
  }

  public long epoch() {
    Deployment d = current;
    return d == null ? 0 : d.epoch();
  }

  public List<Recovery> recoveries() {
    return List.copyOf(recoveries);
  }

  /** Results that arrived for an already answered request (replays overtaken by the original). */
  public long duplicateResults() {
    return duplicateResults.get();
  }

  /** Bytes and frames per link of the current plan, cumulative since each worker started. */
  public List<LinkStats> linkStats() {
    Deployment d = current;
    List<LinkStats> out = new ArrayList<>();
    if (d == null) {
      return out;
    }
    List<PlannedStage> stages = d.plan().stages();
    out.add(new LinkStats("coordinator", stages.get(0).worker().name(), bytesToFirst.get(), framesToFirst.get()));
    for (int i = 0; i < stages.size(); i++) {
      String from = stages.get(i).worker().name();
      String to = i + 1 < stages.size() ? stages.get(i + 1).worker().name() : "coordinator";
      StatusReply s = status(stages.get(i).worker());
      if (i + 1 == stages.size()) {
        out.add(new LinkStats(from, to, bytesFromLast.get(), framesFromLast.get()));
      } else if (s != null) {
        out.add(new LinkStats(from, to, s.getBytesOut(), s.getFramesOut()));
      }
    }
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

  // ---- planning and deployment (on the planner thread only) ----

  private void replanIfNeeded(String reason, String failedWorker, long lastSeenNanos, long detectedNanos) {
    if (closed) {
      return;
    }
    Deployment d = current;
    Set<String> alive = names(monitor.alive());
    if (d != null && d.aliveAtPlan().equals(alive)) {
      return;
    }
    if (d != null && failedWorker != null && !d.uses(failedWorker) && alive.containsAll(usedBy(d))) {
      // A spare died: the plan still runs; it is re-planned when the spare returns.
      return;
    }
    int replayed = deploy(reason);
    if (failedWorker != null && current != null) {
      double detection = (detectedNanos - lastSeenNanos) / 1e9;
      double recovery = (System.nanoTime() - detectedNanos) / 1e9;
      PipelineMetrics.DETECTION_SECONDS.set(detection);
      PipelineMetrics.RECOVERY_SECONDS.set(recovery);
      recoveries.add(new Recovery(failedWorker, reason, detectedNanos, detection, recovery, replayed, current.epoch(),
          current.plan().describe()));
    }
  }

  /** Deploys a new plan on the live workers and replays what is unanswered; returns the replay count. */
  private int deploy(String reason) {
    Deployment old = current;
    setCurrent(null);
    unavailableReason = null; // requests arriving now wait for the new plan
    if (old != null) {
      old.toFirst().close();
      old.results().cancel(null);
    }
    for (int attempt = 0; attempt <= workers.size(); attempt++) {
      List<WorkerEndpoint> alive = monitor.alive();
      if (alive.isEmpty()) {
        unavailable("no live workers (" + String.join("; ", workers.stream()
            .map(w -> w.name() + ": " + monitor.downReason(w.name())).toList()) + ")");
        return 0;
      }
      PlannedPipeline plan;
      try {
        plan = planner.plan(alive);
      } catch (InfeasibleInstanceException e) {
        unavailable("no plan fits the " + alive.size() + " live workers: " + e.getMessage());
        return 0;
      }
      long epoch = ++epochCounter;
      String failure = deployStages(plan, epoch);
      if (failure != null) {
        LOG.warning("deploying epoch " + epoch + " failed: " + failure);
        continue;
      }
      Deployment d = open(plan, epoch, names(alive));
      PipelineMetrics.REPLANS.inc();
      LOG.info(() -> "epoch " + epoch + " (" + reason + "):\n" + plan.describe());
      if (old != null) {
        drainUnused(old, d);
      }
      setCurrent(d);
      int replayed = 0;
      for (Long id : pending.keySet()) {
        Pending p = pending.get(id);
        if (p != null && p.sentEpoch != 0) {
          replayed++;
        }
        sendQueue.add(id);
      }
      PipelineMetrics.REPLAYED.inc(replayed);
      return replayed;
    }
    unavailable("deployment kept failing");
    return 0;
  }

  /** Deploys every stage in parallel; returns why it failed, or null. */
  private String deployStages(PlannedPipeline plan, long epoch) {
    List<PlannedStage> stages = plan.stages();
    List<CompletableFuture<String>> results = new ArrayList<>();
    for (int i = 0; i < stages.size(); i++) {
      PlannedStage s = stages.get(i);
      DeployRequest req = DeployRequest.newBuilder()
          .setPlanEpoch(epoch)
          .setStageIndex(i)
          .setStageCount(stages.size())
          .setOnnxModel(ByteString.copyFrom(s.onnxModel()))
          .setSha256Hex(Checksums.sha256Hex(s.onnxModel()))
          .setOutputCodec(s.outputCodec().id())
          .setOutputEntropy(s.outputCodec().entropy())
          .setNextHop(i + 1 < stages.size() ? stages.get(i + 1).worker().address() : "")
          .setNextHopName(i + 1 < stages.size() ? stages.get(i + 1).worker().name() : "")
          .setReferenceSeconds(s.referenceSeconds())
          .addAllInputNames(s.inputNames())
          .addAllOutputNames(s.outputNames())
          .build();
      results.add(CompletableFuture.supplyAsync(() -> {
        try {
          WorkerControlGrpc.newBlockingStub(channels.get(s.worker().name()))
              .withDeadlineAfter(DEPLOY_DEADLINE_MILLIS, TimeUnit.MILLISECONDS).deploy(req);
          return null;
        } catch (StatusRuntimeException e) {
          Status.Code code = e.getStatus().getCode();
          if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
            monitor.markDown(s.worker(), "deploy failed: " + e.getStatus());
          }
          return "worker " + s.worker().name() + ": " + e.getStatus().getCode() + " "
              + e.getStatus().getDescription();
        }
      }, deployCalls));
    }
    List<String> failures = results.stream().map(CompletableFuture::join).filter(f -> f != null).toList();
    return failures.isEmpty() ? null : String.join("; ", failures);
  }

  private Deployment open(PlannedPipeline plan, long epoch, Set<String> alive) {
    WorkerEndpoint last = plan.stages().get(plan.stages().size() - 1).worker();
    Context.CancellableContext ctx = Context.current().withCancellation();
    ctx.run(() -> StageDataGrpc.newStub(channels.get(last.name())).results(
        ResultsRequest.newBuilder().setPlanEpoch(epoch).build(), new StreamObserver<>() {
          @Override
          public void onNext(Frame f) {
            onResult(f);
          }

          @Override
          public void onError(Throwable t) {
            LOG.fine(() -> "results stream of epoch " + epoch + " ended: " + t);
          }

          @Override
          public void onCompleted() {}
        }));
    FrameStream toFirst = new FrameStream(channels.get(plan.stages().get(0).worker().name()),
        new FrameStream.Listener() {
          @Override
          public void rejected(long requestId, String error) {
            Pending p = pending.get(requestId);
            if (p != null && p.sentEpoch == epoch) {
              LOG.warning(() -> "first stage refused request " + requestId + ": " + error + "; resending");
              p.sentEpoch = 0;
              timer.schedule(() -> sendQueue.add(requestId), 50, TimeUnit.MILLISECONDS);
            }
          }

          @Override
          public void broken(Throwable cause) {
            LOG.fine(() -> "link to the first stage broke: " + cause);
          }
        });
    return new Deployment(epoch, plan, alive, toFirst, ctx);
  }

  private void drainUnused(Deployment old, Deployment now) {
    for (PlannedStage s : old.plan().stages()) {
      if (!now.uses(s.worker().name()) && monitor.isUp(s.worker().name())) {
        WorkerControlGrpc.newStub(channels.get(s.worker().name()))
            .withDeadlineAfter(DEPLOY_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
            .drain(DrainRequest.newBuilder().setPlanEpoch(old.epoch()).build(), new StreamObserver<>() {
              @Override
              public void onNext(dev.shoal.runtime.wire.proto.DrainReply r) {}

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
      }
    }
  }

  private void unavailable(String why) {
    unavailableReason = why;
    LOG.warning("pipeline unavailable: " + why);
    for (Pending p : pending.values()) {
      fail(p, new InferenceException(Kind.UNAVAILABLE, "pipeline unavailable: " + why));
    }
  }

  private void setCurrent(Deployment d) {
    synchronized (deploymentLock) {
      current = d;
      deploymentLock.notifyAll();
    }
  }

  // ---- data path ----

  private void sendLoop() {
    while (!closed) {
      Long id;
      try {
        id = sendQueue.poll(200, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      if (id == null) {
        continue;
      }
      Pending p = pending.get(id);
      if (p == null) {
        continue;
      }
      Deployment d = awaitDeployment();
      if (d == null) {
        return;
      }
      if (p.sentEpoch == d.epoch()) {
        continue;
      }
      Frame frame = Frames.encode(p.id, d.epoch(), 0, p.inputs, options.inputCodec());
      try {
        p.sentEpoch = d.epoch();
        d.toFirst().send(frame, SEND_TIMEOUT_MILLIS);
        bytesToFirst.addAndGet(Frames.wireBytes(frame));
        framesToFirst.incrementAndGet();
      } catch (IOException e) {
        // The first stage is unreachable: heartbeats will tell; keep the request for the next plan.
        p.sentEpoch = 0;
        if (current == d) {
          timer.schedule(() -> sendQueue.add(p.id), 100, TimeUnit.MILLISECONDS);
        }
      }
    }
  }

  private Deployment awaitDeployment() {
    synchronized (deploymentLock) {
      while (current == null && !closed) {
        try {
          deploymentLock.wait(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return null;
        }
      }
      return closed ? null : current;
    }
  }

  private void onResult(Frame f) {
    bytesFromLast.addAndGet(Frames.wireBytes(f));
    framesFromLast.incrementAndGet();
    Pending p = pending.get(f.getRequestId());
    if (p == null) {
      duplicateResults.incrementAndGet();
      return;
    }
    Deployment d = current;
    boolean currentEpoch = d != null && d.epoch() == f.getPlanEpoch();
    if (!f.getError().isEmpty()) {
      // Errors of a superseded epoch (a stage torn down mid-request) are answered by the replay.
      if (currentEpoch) {
        fail(p, new InferenceException(Kind.INTERNAL, f.getError()));
      }
      return;
    }
    Map<String, TensorData> decoded;
    try {
      decoded = Frames.decode(f, options.maxFrameBytes());
    } catch (FrameException e) {
      if (currentEpoch) {
        fail(p, new InferenceException(Kind.INTERNAL, "corrupted result: " + e.getMessage()));
      }
      return;
    }
    Map<String, TensorData> outputs = new LinkedHashMap<>();
    for (TensorSpec spec : model.outputs()) {
      TensorData t = decoded.get(spec.name());
      if (t == null) {
        fail(p, new InferenceException(Kind.INTERNAL, "the last stage did not return output '" + spec.name()
            + "' (returned " + decoded.keySet() + ")"));
        return;
      }
      outputs.put(spec.name(), t);
    }
    if (pending.remove(p.id, p)) {
      finish(p, "ok");
      p.future.complete(outputs);
    } else {
      duplicateResults.incrementAndGet();
    }
  }

  private void fail(Pending p, InferenceException e) {
    if (pending.remove(p.id, p)) {
      finish(p, e.kind().name().toLowerCase(java.util.Locale.ROOT));
      p.future.completeExceptionally(e);
    }
  }

  private void finish(Pending p, String outcome) {
    ScheduledFuture<?> dl = p.deadline;
    if (dl != null) {
      dl.cancel(false);
    }
    PipelineMetrics.IN_FLIGHT.set(pending.size());
    PipelineMetrics.REQUESTS.labelValues(model.name(), outcome).inc();
    PipelineMetrics.LATENCY.labelValues(model.name()).observe((System.nanoTime() - p.startNanos) / 1e9);
  }

  private void pollStageMetrics() {
    Deployment d = current;
    if (d == null) {
      return;
    }
    try {
      for (LinkStats l : linkStats()) {
        PipelineMetrics.LINK_BYTES.labelValues(l.from() + "->" + l.to()).set(l.bytes());
      }
      for (PlannedStage s : d.plan().stages()) {
        StatusReply r = status(s.worker());
        if (r != null) {
          PipelineMetrics.STAGE_COMPUTE_SECONDS.labelValues(s.worker().name()).set(r.getComputeSeconds());
          PipelineMetrics.STAGE_QUEUE_SECONDS.labelValues(s.worker().name()).set(r.getQueueSeconds());
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
    Deployment d = current;
    setCurrent(null);
    for (Pending p : pending.values()) {
      fail(p, new InferenceException(Kind.UNAVAILABLE, "pipeline shut down"));
    }
    if (d != null) {
      d.toFirst().close();
      d.results().cancel(null);
    }
    sender.interrupt();
    planThread.shutdownNow();
    deployCalls.shutdownNow();
    timer.shutdownNow();
    heartbeatTimer.shutdownNow();
    channels.values().forEach(ManagedChannel::shutdownNow);
    heartbeatChannels.forEach(ManagedChannel::shutdownNow);
  }

  private static Set<String> names(List<WorkerEndpoint> ws) {
    Set<String> out = new LinkedHashSet<>();
    ws.forEach(w -> out.add(w.name()));
    return out;
  }

  private static Set<String> usedBy(Deployment d) {
    Set<String> out = new LinkedHashSet<>();
    d.plan().stages().forEach(s -> out.add(s.worker().name()));
    return out;
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
