package dev.shoal.runtime.worker;

import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.ort.OnnxRuntimeError;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.codec.CodecException;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.security.PeerIdentity;
import dev.shoal.runtime.security.WorkerLease;
import dev.shoal.runtime.wire.Checksums;
import dev.shoal.runtime.wire.FrameException;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.Ack;
import dev.shoal.runtime.wire.proto.DeployReply;
import dev.shoal.runtime.wire.proto.DeployRequest;
import dev.shoal.runtime.wire.proto.DrainReply;
import dev.shoal.runtime.wire.proto.DrainRequest;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.HeartbeatReply;
import dev.shoal.runtime.wire.proto.HeartbeatRequest;
import dev.shoal.runtime.wire.proto.ReleaseReply;
import dev.shoal.runtime.wire.proto.ReleaseRequest;
import dev.shoal.runtime.wire.proto.ResultsRequest;
import dev.shoal.runtime.wire.proto.StageDataGrpc;
import dev.shoal.runtime.wire.proto.StatusReply;
import dev.shoal.runtime.wire.proto.StatusRequest;
import dev.shoal.runtime.wire.proto.WorkerControlGrpc;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * A Shoal worker: the control service (deploy, heartbeat, drain, status) and the data service
 * (frames in, results out) around at most one deployed stage.
 */
public final class Worker implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Worker.class.getName());

  private final WorkerConfig config;
  private final WorkerStats stats = new WorkerStats();
  private final ResultSubscribers results = new ResultSubscribers();
  private final Object deployLock = new Object();
  private volatile StageRunner stage;
  private final WorkerLease lease;
  private final Server server;

  private Worker(WorkerConfig config) throws IOException {
    this.config = config;
    this.lease = new WorkerLease(config.name(), this::dropStage);
    this.server = GrpcChannels.server(config.host(), config.port(), config.security(), lease,
        config.maxFrameBytes(), List.of(new Control(), new Data()));
  }

  public static Worker start(WorkerConfig config) throws IOException {
    return new Worker(config);
  }

  public int port() {
    return server.getPort();
  }

  public String name() {
    return config.name();
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** The lease passed to another coordinator or was released: the former holder's stage goes. */
  private void dropStage() {
    synchronized (deployLock) {
      if (stage != null) {
        LOG.info(() -> "worker " + config.name() + ": dropping stage " + stage.stageIndex() + " of epoch "
            + stage.epoch() + " (its coordinator no longer holds the lease)");
        stage.close();
        stage = null;
      }
      results.retainOnly(0);
    }
  }

  @Override
  public void close() {
    server.shutdownNow();
    synchronized (deployLock) {
      if (stage != null) {
        stage.close();
        stage = null;
      }
    }
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
      long warmRunNanos;
      synchronized (deployLock) {
        if (!lease.heldBy(WorkerLease.SESSION.get())) {
          reply.onError(Status.FAILED_PRECONDITION.withDescription("worker " + config.name()
              + ": the deploying coordinator lost the lease meanwhile (" + lease.describe() + ")").asRuntimeException());
          return;
        }
        StageRunner old = stage;
        if (old != null && old.epoch() > req.getPlanEpoch()) {
          reply.onError(Status.FAILED_PRECONDITION.withDescription("worker " + config.name()
              + " already runs plan epoch " + old.epoch() + ", refusing older epoch " + req.getPlanEpoch())
              .asRuntimeException());
          return;
        }
        LoadedStage loaded;
        try {
          loaded = openSession(req);
        } catch (OnnxRuntimeError e) {
          reply.onError(Status.INVALID_ARGUMENT.withDescription("stage " + req.getStageIndex() + ": "
              + e.getMessage()).asRuntimeException());
          return;
        }
        OnnxSession session = loaded.session();
        String mismatch = namesMismatch(req, session);
        if (mismatch != null) {
          session.close();
          reply.onError(Status.INVALID_ARGUMENT.withDescription(mismatch).asRuntimeException());
          return;
        }
        if (old != null) {
          old.close();
        }
        warmRunNanos = loaded.warmRunNanos();
        stage = new StageRunner(req, session, warmRunNanos, config, stats, results);
        results.retainOnly(req.getPlanEpoch());
      }
      LOG.info(() -> "worker " + config.name() + ": deployed stage " + req.getStageIndex() + "/"
          + req.getStageCount() + " of epoch " + req.getPlanEpoch() + " -> "
          + (req.getNextHop().isEmpty() ? "results" : req.getNextHop()) + String.format(java.util.Locale.ROOT,
          " (warm run %.3f ms%s)", warmRunNanos / 1e6, config.slowdown() > 1.0
              ? String.format(java.util.Locale.ROOT, ", emulating a device %.1fx slower", config.slowdown()) : ""));
      reply.onNext(DeployReply.newBuilder().setWorkerName(config.name())
          .setLoadMillis((System.nanoTime() - t0) / 1e6).build());
      reply.onCompleted();
    }

    private String checkDeploy(DeployRequest req) {
      if (req.getPlanEpoch() <= 0 || req.getPlanEpoch() > MAX_PLAN_EPOCH || req.getStageCount() <= 0 || req.getStageIndex() < 0
          || req.getStageIndex() >= req.getStageCount()) {
        return "invalid stage " + req.getStageIndex() + " of " + req.getStageCount() + ", epoch " + req.getPlanEpoch();
      }
      if (req.getOnnxModel().isEmpty()) {
        return "stage " + req.getStageIndex() + ": empty model";
      }
      String actual = Checksums.sha256Hex(req.getOnnxModel().toByteArray());
      if (!actual.equalsIgnoreCase(req.getSha256Hex())) {
        return "stage " + req.getStageIndex() + ": SHA-256 mismatch (declared " + req.getSha256Hex()
            + ", received " + actual + ")";
      }
      boolean last = req.getStageIndex() == req.getStageCount() - 1;
      if (last != req.getNextHop().isEmpty()) {
        return "stage " + req.getStageIndex() + ": " + (last ? "the last stage takes no next hop" : "next hop missing");
      }
      try {
        TensorCodec.of(req.getOutputCodec(), req.getOutputEntropy());
      } catch (CodecException e) {
        return "stage " + req.getStageIndex() + ": " + e.getMessage();
      }
      if (!last && !PeerIdentity.NAME.matcher(req.getNextHopName()).matches()) {
        return "stage " + req.getStageIndex() + ": next hop " + req.getNextHop() + " has no valid node name ('"
            + req.getNextHopName() + "')";
      }
      return null;
    }

    private String namesMismatch(DeployRequest req, OnnxSession session) {
      List<String> in = session.inputs().stream().map(TensorSpec::name).toList();
      List<String> out = session.outputs().stream().map(TensorSpec::name).toList();
      if (!req.getInputNamesList().isEmpty() && !in.equals(req.getInputNamesList())) {
        return "stage " + req.getStageIndex() + ": model inputs " + in + " differ from declared " + req.getInputNamesList();
      }
      if (!req.getOutputNamesList().isEmpty() && !out.equals(req.getOutputNamesList())) {
        return "stage " + req.getStageIndex() + ": model outputs " + out + " differ from declared " + req.getOutputNamesList();
      }
      return null;
    }

    @Override
    public void heartbeat(HeartbeatRequest req, StreamObserver<HeartbeatReply> reply) {
      StageRunner s = stage;
      reply.onNext(HeartbeatReply.newBuilder().setSequence(req.getSequence()).setWorkerName(config.name())
          .setPlanEpoch(s == null ? 0 : s.epoch()).setQueued(s == null ? 0 : s.queued()).build());
      reply.onCompleted();
    }

    @Override
    public void drain(DrainRequest req, StreamObserver<DrainReply> reply) {
      StageRunner s;
      synchronized (deployLock) {
        s = stage;
        if (s == null || s.epoch() != req.getPlanEpoch()) {
          reply.onNext(DrainReply.newBuilder().build());
          reply.onCompleted();
          return;
        }
      }
      long before = stats.framesOut.get();
      try {
        s.drain(StageRunner.BLOCK_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (deployLock) {
        if (stage == s) {
          stage = null;
          s.close();
        }
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
      StageRunner s = stage;
      reply.onNext(StatusReply.newBuilder()
          .setWorkerName(config.name())
          .setPlanEpoch(s == null ? 0 : s.epoch())
          .setStageIndex(s == null ? -1 : s.stageIndex())
          .setSlowdown(config.slowdown())
          .setFramesIn(stats.framesIn.get())
          .setFramesOut(stats.framesOut.get())
          .setFramesRejected(stats.framesRejected.get())
          .setBytesIn(stats.bytesIn.get())
          .setBytesOut(stats.bytesOut.get())
          .setComputeSeconds(stats.computeNanos.get() / 1e9)
          .setQueueSeconds(stats.queueNanos.get() / 1e9)
          .setQueued(s == null ? 0 : s.queued())
          .setStageSeconds(s == null ? 0 : s.warmRunNanos() / 1e9)
          .setReferenceSeconds(s == null ? 0 : s.referenceNanos() / 1e9)
          .build());
      reply.onCompleted();
    }
  }

  private final class Data extends StageDataGrpc.StageDataImplBase {
    @Override
    public StreamObserver<Frame> push(StreamObserver<Ack> acks) {
      return new StreamObserver<>() {
        @Override
        public void onNext(Frame frame) {
          String refusal = accept(frame);
          if (refusal != null) {
            stats.framesRejected.incrementAndGet();
            LOG.warning(() -> "worker " + config.name() + " rejected a frame: " + refusal);
            synchronized (acks) {
              acks.onNext(Ack.newBuilder().setRequestId(frame.getRequestId()).setAccepted(false)
                  .setError(refusal).build());
            }
          }
        }

        @Override
        public void onError(Throwable t) {
          LOG.fine(() -> "inbound stream ended: " + t);
        }

        @Override
        public void onCompleted() {
          synchronized (acks) {
            acks.onCompleted();
          }
        }
      };
    }

    /** Queues a frame for the stage; returns why it was refused, or null. */
    private String accept(Frame frame) {
      StageRunner s = stage;
      if (s == null) {
        return "worker " + config.name() + " has no stage deployed (request " + frame.getRequestId() + ")";
      }
      if (frame.getPlanEpoch() != s.epoch() || frame.getStageIndex() != s.stageIndex()) {
        return "worker " + config.name() + " runs stage " + s.stageIndex() + " of epoch " + s.epoch()
            + ", frame for request " + frame.getRequestId() + " is addressed to stage "
            + frame.getStageIndex() + " of epoch " + frame.getPlanEpoch();
      }
      Map<String, TensorData> inputs = null;
      String corruption = null;
      if (frame.getError().isEmpty()) {
        try {
          inputs = Frames.decode(frame, config.maxFrameBytes());
        } catch (FrameException e) {
          // Refuse it to the sender and let the error travel on, so the request ends with an
          // explicit error at the coordinator instead of waiting for its deadline.
          corruption = "worker " + config.name() + ", stage " + s.stageIndex() + ": " + e.getMessage();
        }
      }
      stats.framesIn.incrementAndGet();
      stats.bytesIn.addAndGet(Frames.wireBytes(frame));
      Frame queued = corruption == null ? frame
          : Frames.error(frame.getRequestId(), frame.getPlanEpoch(), frame.getStageIndex(), corruption);
      try {
        if (!s.offer(new StageRunner.Work(queued, inputs, System.nanoTime()))) {
          return "worker " + config.name() + ": stage queue full or draining (request " + frame.getRequestId() + ")";
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return "worker " + config.name() + " interrupted";
      }
      return corruption;
    }

    @Override
    public void results(ResultsRequest req, StreamObserver<Frame> out) {
      results.subscribe(req.getPlanEpoch(), (ServerCallStreamObserver<Frame>) out);
    }
  }
}
