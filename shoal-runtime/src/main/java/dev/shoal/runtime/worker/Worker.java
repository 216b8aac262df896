package dev.shoal.runtime.worker;

import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.ort.OnnxRuntimeError;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.codec.CodecException;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.security.NodeRole;
import dev.shoal.runtime.security.PeerIdentity;
import dev.shoal.runtime.security.WorkerLease;
import dev.shoal.runtime.wire.Checksums;
import dev.shoal.runtime.wire.DataLoop;
import dev.shoal.runtime.wire.DataServer;
import dev.shoal.runtime.wire.FrameException;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.DataHello;
import dev.shoal.runtime.wire.proto.DeployReply;
import dev.shoal.runtime.wire.proto.DeployRequest;
import dev.shoal.runtime.wire.proto.DrainReply;
import dev.shoal.runtime.wire.proto.DrainRequest;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.HeartbeatReply;
import dev.shoal.runtime.wire.proto.HeartbeatRequest;
import dev.shoal.runtime.wire.proto.ReleaseReply;
import dev.shoal.runtime.wire.proto.ReleaseRequest;
import dev.shoal.runtime.wire.proto.StatusReply;
import dev.shoal.runtime.wire.proto.StatusRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * A Shoal worker: the control service (gRPC: deploy, heartbeat, drain, status, release) and the
 * data port (framed TCP, {@link DataServer}: frames in, results out) around the stages it hosts,
 * of any number of plans and epochs, keyed by (epoch, stage id). Frames are addressed to a hosted
 * stage; its outputs go straight to their consumers' workers and to the coordinator.
 */
public final class Worker implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Worker.class.getName());

  private final WorkerConfig config;
  private final WorkerStats stats = new WorkerStats();
  private final ResultSubscribers results = new ResultSubscribers();
  private final Object deployLock = new Object();
  /** Hosted stages by (epoch, stage id); at most {@link #MAX_STAGES}, the oldest epochs go first. */
  private final Map<StageRunner.Key, StageRunner> stages = new ConcurrentHashMap<>();
  private final PeerLinks links;
  private final DeviceClock device = new DeviceClock();
  private final ScheduledExecutorService sweeper;
  /** Between sweeps of the joins whose requests expired or were cancelled. */
  static final long JOIN_SWEEP_MILLIS = 1_000;
  /** Tells the coordinator about refused frames off the transport thread (delivery may wait). */
  private final ExecutorService errors = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "worker-frame-errors");
    t.setDaemon(true);
    return t;
  });
  /** The one thread that reads frames, computes short stages and writes their outputs (see StageRunner). */
  private final DataLoop loop;
  /** Sends that could not leave the loop's thread at once, without blocking it. */
  private final ExecutorService handOff = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "worker-send-handoff");
    t.setDaemon(true);
    return t;
  });
  private final WorkerLease lease;
  private final Data data = new Data();
  private final Server server;
  private final DataServer dataServer;
  /** Stages of abandoned plans (a coordinator that died without draining) are dropped beyond this. */
  static final int MAX_STAGES = 64;

  private Worker(WorkerConfig config) throws IOException {
    this.config = config;
    this.loop = new DataLoop("worker-data-loop", OrtStack.STACK_BYTES);
    this.links = new PeerLinks(config.security(), config.maxFrameBytes(), loop);
    this.lease = new WorkerLease(config.name(), this::dropStages);
    this.dataServer = DataServer.start(config.host(), config.dataPort(), config.security(), config.maxFrameBytes(),
        loop, data);
    try {
      this.server = GrpcChannels.server(config.host(), config.port(), config.security(), lease,
          config.maxFrameBytes(), List.of(new Control()));
    } catch (IOException | RuntimeException e) {
      dataServer.close();
      loop.close();
      throw e;
    }
    this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "worker-join-sweeper");
      t.setDaemon(true);
      return t;
    });
    // Expired joins only hold memory (their requests are answered or failed by the coordinator):
    // once a second frees it soon enough, where every 100 ms cost an idle worker ~1% of a core.
    sweeper.scheduleAtFixedRate(() -> stages.values().forEach(StageRunner::expireJoins), JOIN_SWEEP_MILLIS,
        JOIN_SWEEP_MILLIS, TimeUnit.MILLISECONDS);
  }

  public static Worker start(WorkerConfig config) throws IOException {
    return new Worker(config);
  }

  public int port() {
    return server.getPort();
  }

  /** The data port: frames and result subscriptions. */
  public int dataPort() {
    return dataServer.port();
  }

  public String name() {
    return config.name();
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** The lease passed to another coordinator or was released: the former holder's stages go. */
  private void dropStages() {
    synchronized (deployLock) {
      if (!stages.isEmpty()) {
        LOG.info(() -> "worker " + config.name() + ": dropping stages " + stages.keySet()
            + " (their coordinator no longer holds the lease)");
      }
      for (long epoch : stages.keySet().stream().map(StageRunner.Key::epoch).distinct().toList()) {
        removeEpoch(epoch);
      }
    }
  }

  @Override
  public void close() {
    server.shutdownNow();
    dataServer.close();
    sweeper.shutdownNow();
    errors.shutdownNow();
    synchronized (deployLock) {
      stages.values().forEach(StageRunner::close);
      stages.clear();
    }
    links.close();
    handOff.shutdownNow();
    loop.close();
  }

  private long newestEpoch() {
    return stages.keySet().stream().mapToLong(StageRunner.Key::epoch).max().orElse(0);
  }

  private int queuedTotal() {
    return stages.values().stream().mapToInt(StageRunner::queued).sum();
  }

  /**
   * Runs at deploy time: the first calls of a session are many times slower than later ones, and in
   * a fresh worker JVM the Java side of a call is still interpreted, so a small stage warms up for
   * at least {@link #WARM_UP_NANOS} (a large one for at least {@link #WARM_UP_RUNS} runs).
   */
  private static final int WARM_UP_RUNS = 5;
  private static final long WARM_UP_NANOS = 300_000_000L;
  private static final int MAX_WARM_UP_RUNS = 2_000;
  private static final int CALIBRATION_RUNS = 21;
  /**
   * Epochs are positive and grow within one coordinator's lease (a new lease starts afresh); the
   * cap keeps every epoch + 1 in range.
   */
  static final long MAX_PLAN_EPOCH = 1L << 62;

  /** An opened stage session and its median warm run time on this host, in nanoseconds. */
  record LoadedStage(OnnxSession session, long warmRunNanos) {}

  private LoadedStage openSession(DeployRequest req) {
    int threads = req.getIntraOpThreads() > 0 ? req.getIntraOpThreads() : config.intraOpThreads();
    return OrtStack.call("ort-loader", () -> {
      OnnxSession s = OnnxSession.open(req.getOnnxModel().toByteArray(), new OnnxSession.Options(threads, false));
      Map<String, TensorData> zeros = new LinkedHashMap<>();
      for (TensorSpec spec : s.inputs()) {
        long[] shape = Arrays.stream(spec.shape()).map(d -> d < 0 ? 1 : d).toArray();
        zeros.put(spec.name(), new TensorData(spec.name(), spec.dtype(), shape,
            new byte[Math.toIntExact(TensorData.elementCount(shape) * spec.dtype().byteSize())]));
      }
      try {
        long warmUpStart = System.nanoTime();
        for (int i = 0; i < MAX_WARM_UP_RUNS
            && (i < WARM_UP_RUNS || System.nanoTime() - warmUpStart < WARM_UP_NANOS); i++) {
          s.run(zeros);
        }
        long[] t = new long[CALIBRATION_RUNS];
        for (int i = 0; i < t.length; i++) {
          long t0 = System.nanoTime();
          s.run(zeros);
          t[i] = System.nanoTime() - t0;
        }
        Arrays.sort(t);
        return new LoadedStage(s, t[t.length / 2]);
      } catch (OnnxRuntimeError e) {
        // Some models reject all-zero or batch-1 inputs: emulate with each frame's own compute time.
        LOG.info(() -> "stage warm-up failed, slowdown will use per-frame compute: " + e.getMessage());
        return new LoadedStage(s, 0);
      }
    });
  }

  private final class Control extends WorkerControlGrpc.WorkerControlImplBase {
    @Override
    public void deploy(DeployRequest req, StreamObserver<DeployReply> reply) {
      long t0 = System.nanoTime();
      String refusal = checkDeploy(req);
      if (refusal != null) {
        reply.onError(Status.INVALID_ARGUMENT.withDescription(refusal).asRuntimeException());
        return;
      }
      StageRunner.Key key = new StageRunner.Key(req.getPlanEpoch(), req.getStageId());
      long warmRunNanos;
      synchronized (deployLock) {
        if (!lease.heldBy(WorkerLease.SESSION.get())) {
          reply.onError(Status.FAILED_PRECONDITION.withDescription("worker " + config.name()
              + ": the deploying coordinator lost the lease meanwhile (" + lease.describe() + ")").asRuntimeException());
          return;
        }
        LoadedStage loaded;
        try {
          loaded = openSession(req);
        } catch (OnnxRuntimeError e) {
          reply.onError(Status.INVALID_ARGUMENT.withDescription("stage " + key + ": " + e.getMessage())
              .asRuntimeException());
          return;
        }
        OnnxSession session = loaded.session();
        String mismatch = namesMismatch(req, session);
        if (mismatch != null) {
          session.close();
          reply.onError(Status.INVALID_ARGUMENT.withDescription(mismatch).asRuntimeException());
          return;
        }
        warmRunNanos = loaded.warmRunNanos();
        StageRunner old = stages.put(key, new StageRunner(req, session, warmRunNanos, config, stats, results, links,
            (frame, onRoom) -> data.accept(frame, onRoom, false), device, loop, handOff));
        if (old != null) {
          old.close();
        }
        while (stages.size() > MAX_STAGES) {
          long oldest = stages.keySet().stream().mapToLong(StageRunner.Key::epoch).min().orElseThrow();
          LOG.warning(() -> "worker " + config.name() + " hosts more than " + MAX_STAGES + " stages: dropping epoch " + oldest);
          removeEpoch(oldest);
        }
      }
      LOG.info(() -> "worker " + config.name() + ": deployed stage " + key + " of plan '" + req.getPlan() + "' -> "
          + req.getRoutesList().stream().map(r -> r.getToStage().isEmpty() ? "coordinator" : r.getToStage()).toList()
          + String.format(java.util.Locale.ROOT, " (warm run %.3f ms%s)", warmRunNanos / 1e6, config.slowdown() > 1.0
              ? String.format(java.util.Locale.ROOT, ", emulating a device %.1fx slower", config.slowdown()) : ""));
      reply.onNext(DeployReply.newBuilder().setWorkerName(config.name())
          .setLoadMillis((System.nanoTime() - t0) / 1e6).build());
      reply.onCompleted();
    }

    private String checkDeploy(DeployRequest req) {
      String stage = "stage " + req.getPlanEpoch() + "/" + req.getStageId();
      if (req.getPlanEpoch() <= 0 || req.getPlanEpoch() > MAX_PLAN_EPOCH || req.getStageId().isEmpty()) {
        return "invalid stage '" + req.getStageId() + "' of epoch " + req.getPlanEpoch();
      }
      if (req.getOnnxModel().isEmpty()) {
        return stage + ": empty model";
      }
      String actual = Checksums.sha256Hex(req.getOnnxModel().toByteArray());
      if (!actual.equalsIgnoreCase(req.getSha256Hex())) {
        return stage + ": SHA-256 mismatch (declared " + req.getSha256Hex() + ", received " + actual + ")";
      }
      for (var r : req.getRoutesList()) {
        String to = stage + ": route to '" + (r.getToStage().isEmpty() ? "the coordinator" : r.getToStage()) + "'";
        for (var t : r.getTensorsList()) {
          if (!req.getOutputNamesList().isEmpty() && !req.getOutputNamesList().contains(t.getOutput())) {
            return to + " takes output '" + t.getOutput() + "', which the stage does not have";
          }
          try {
            TensorCodec.of(t.getCodec(), t.getEntropy());
          } catch (CodecException e) {
            return to + ": " + e.getMessage();
          }
        }
        if (r.getReplicaNamesCount() != r.getReplicasCount()) {
          return to + ": " + r.getReplicasCount() + " replica addresses but " + r.getReplicaNamesCount() + " names";
        }
        for (int i = 0; i < r.getReplicasCount(); i++) {
          try {
            GrpcChannels.HostPort.parse(r.getReplicas(i));
          } catch (IllegalArgumentException e) {
            return to + ": " + e.getMessage();
          }
          if (!PeerIdentity.NAME.matcher(r.getReplicaNames(i)).matches()) {
            return to + ": replica " + r.getReplicas(i) + " has no valid node name ('" + r.getReplicaNames(i) + "')";
          }
        }
      }
      return null;
    }

    private String namesMismatch(DeployRequest req, OnnxSession session) {
      List<String> in = session.inputs().stream().map(TensorSpec::name).toList();
      List<String> out = session.outputs().stream().map(TensorSpec::name).toList();
      if (!req.getInputNamesList().isEmpty() && !in.equals(req.getInputNamesList())) {
        return "stage " + req.getStageId() + ": model inputs " + in + " differ from declared " + req.getInputNamesList();
      }
      if (!req.getOutputNamesList().isEmpty() && !out.equals(req.getOutputNamesList())) {
        return "stage " + req.getStageId() + ": model outputs " + out + " differ from declared " + req.getOutputNamesList();
      }
      return null;
    }

    @Override
    public StreamObserver<HeartbeatRequest> heartbeat(StreamObserver<HeartbeatReply> replies) {
      return new StreamObserver<>() {
        @Override
        public void onNext(HeartbeatRequest req) {
          replies.onNext(HeartbeatReply.newBuilder().setSequence(req.getSequence()).setWorkerName(config.name())
              .setPlanEpoch(newestEpoch()).setQueued(queuedTotal()).setDataPort(dataServer.port())
              .setComputeSeconds(stats.computeNanos.get() / 1e9).setQueueSeconds(stats.queueNanos.get() / 1e9)
              .setBytesOut(stats.bytesOut.get()).setFramesOut(stats.framesOut.get()).build());
        }

        @Override
        public void onError(Throwable t) {
          // the coordinator went away or cancelled the stream: nothing to answer
        }

        @Override
        public void onCompleted() {
          replies.onCompleted();
        }
      };
    }

    @Override
    public void drain(DrainRequest req, StreamObserver<DrainReply> reply) {
      List<StageRunner> draining = stages.values().stream().filter(s -> s.key().epoch() == req.getPlanEpoch()).toList();
      long before = stats.framesOut.get();
      try {
        for (StageRunner s : draining) {
          s.drain(StageRunner.BLOCK_MILLIS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (deployLock) {
        removeEpoch(req.getPlanEpoch());
      }
      reply.onNext(DrainReply.newBuilder().setCompleted(stats.framesOut.get() - before).build());
      reply.onCompleted();
    }

    @Override
    public void release(ReleaseRequest req, StreamObserver<ReleaseReply> reply) {
      boolean released = lease.release(WorkerLease.SESSION.get());
      reply.onNext(ReleaseReply.newBuilder().setReleased(released).build());
      reply.onCompleted();
    }

    @Override
    public void status(StatusRequest req, StreamObserver<StatusReply> reply) {
      long newest = newestEpoch();
      List<StageRunner> current = stages.values().stream().filter(s -> s.key().epoch() == newest).toList();
      reply.onNext(StatusReply.newBuilder()
          .setWorkerName(config.name())
          .setPlanEpoch(newest)
          .setSlowdown(config.slowdown())
          .setFramesIn(stats.framesIn.get())
          .setFramesOut(stats.framesOut.get())
          .setFramesRejected(stats.framesRejected.get())
          .setFramesExpired(stats.framesExpired.get())
          .setFramesCancelled(stats.framesCancelled.get())
          .setFramesInProcess(stats.framesInProcess.get())
          .setComputedInline(stats.computedInline.get())
          .setSendsHandedOff(stats.sendsHandedOff.get())
          .setDeviceIdleSeconds(device.idleSeconds())
          .setDeviceOverrunSeconds(device.overrunSeconds())
          .setBytesIn(stats.bytesIn.get())
          .setBytesOut(stats.bytesOut.get())
          .setComputeSeconds(stats.computeNanos.get() / 1e9)
          .setQueueSeconds(stats.queueNanos.get() / 1e9)
          .setQueued(queuedTotal())
          .setStageSeconds(current.stream().mapToLong(StageRunner::warmRunNanos).sum() / 1e9)
          .setReferenceSeconds(current.stream().mapToLong(StageRunner::referenceNanos).sum() / 1e9)
          .addAllStages(stages.keySet().stream().map(StageRunner.Key::toString).sorted().toList())
          .setDataPort(dataServer.port())
          .setDataConnectionsRefused(dataServer.refused())
          .setDataProtocolErrors(dataServer.protocolErrors())
          .build());
      reply.onCompleted();
    }
  }

  /** Closes every stage of an epoch and ends its result subscription (deploy lock held). */
  private void removeEpoch(long epoch) {
    stages.entrySet().removeIf(e -> {
      if (e.getKey().epoch() == epoch) {
        e.getValue().close();
        return true;
      }
      return false;
    });
    results.end(epoch);
  }

  /** The data port's service: who may connect, frames to the stages, result subscriptions. */
  private final class Data implements DataServer.Service {
    /**
     * A worker may push frames; a coordinator may push frames and subscribe to results under this
     * worker's lease: its connection takes or renews the lease as its control calls do, and is
     * refused while another coordinator holds it.
     */
    @Override
    public String admit(PeerIdentity peer, DataHello hello) {
      if (peer.role() == NodeRole.COORDINATOR) {
        return lease.claimForData(hello.getSession(), hello.getHolder().isEmpty() ? peer.toString() : hello.getHolder());
      }
      return hello.getPurpose() == DataHello.Purpose.PUSH ? null
          : peer + " may only push frames; results go to the coordinator holding the lease";
    }

    @Override
    public String push(Frame frame, Runnable next) {
      // Taken on the data loop's thread: one frame at a time is read, the next once the stage has
      // taken this one (computed it inline, or found room in its queue).
      String refusal = accept(frame, next, true);
      if (refusal != null) {
        stats.framesRejected.incrementAndGet();
        LOG.warning(() -> "worker " + config.name() + " rejected a frame: " + refusal);
      }
      return refusal;
    }

    @Override
    public void subscribe(long epoch, DataServer.Subscriber subscriber) {
      results.subscribe(epoch, subscriber);
    }

    /**
     * Hands a frame to its stage; returns why it was refused, or null. {@code next} runs once the
     * stream may read its next frame. Its bytes count as received only when it came over the
     * network (not from a co-located stage).
     */
    private String accept(Frame frame, Runnable next, boolean overNetwork) {
      if (frame.hasCancel()) {
        cancel(frame);
        next.run();
        return null;
      }
      StageRunner.Key key = new StageRunner.Key(frame.getPlanEpoch(), frame.getStage());
      StageRunner s = stages.get(key);
      if (s == null) {
        next.run();
        return "worker " + config.name() + " hosts no stage '" + frame.getStage() + "' of epoch " + frame.getPlanEpoch()
            + " (request " + frame.getRequestId() + "; it hosts " + stages.keySet() + ")";
      }
      stats.framesIn.incrementAndGet();
      if (overNetwork) {
        stats.bytesIn.addAndGet(Frames.wireBytes(frame));
      }
      Map<String, TensorData> inputs;
      try {
        inputs = Frames.decode(frame, config.maxFrameBytes());
      } catch (FrameException e) {
        // Refuse it to the sender and tell the coordinator, so the request ends with an explicit
        // error instead of waiting for its deadline.
        String why = "worker " + config.name() + ", stage " + key.stage() + ": " + e.getMessage();
        Frame error = Frames.error(frame.getRequestId(), frame.getPlanEpoch(), key.stage(), why);
        errors.execute(() -> {
          try {
            results.deliver(error, 1_000);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
          }
        });
        next.run();
        return why;
      }
      return s.accept(frame.getRequestId(), frame.getDeadlineUnixMicros(), inputs, next);
    }

    /**
     * Cancels a request on the stages the frame names (all of its epoch when it names none); a
     * stage this worker no longer hosts has nothing left to drop.
     */
    private void cancel(Frame frame) {
      LOG.fine(() -> "worker " + config.name() + ": request " + frame.getRequestId() + " of epoch "
          + frame.getPlanEpoch() + " cancelled (" + frame.getCancel().getReason() + ")");
      for (StageRunner s : stages.values()) {
        if (s.key().epoch() == frame.getPlanEpoch()
            && (frame.getStage().isEmpty() || s.key().stage().equals(frame.getStage()))) {
          s.cancel(frame.getRequestId(), frame.getDeadlineUnixMicros());
        }
      }
    }
  }
}
