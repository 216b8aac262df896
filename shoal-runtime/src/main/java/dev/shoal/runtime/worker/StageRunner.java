package dev.shoal.runtime.worker;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxRuntimeError;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.wire.FrameStream;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.GrpcChannels;
import dev.shoal.runtime.wire.proto.DeployRequest;
import dev.shoal.runtime.wire.proto.Frame;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;

/**
 * One deployed stage: a bounded input queue, one compute thread running the ONNX Runtime session
 * (a device runs one stage at a time), and the outgoing link to the next stage's worker, or to the
 * result subscribers when this is the last stage.
 */
final class StageRunner implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(StageRunner.class.getName());
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();
  /** How long a full queue or an unready link may block before the frame is refused / dropped. */
  static final long BLOCK_MILLIS = 30_000;

  record Work(Frame frame, Map<String, TensorData> inputs, long enqueuedNanos) {}

  private final long epoch;
  private final int stageIndex;
  private final int stageCount;
  private final TensorCodec outputCodec;
  private final OnnxSession session;
  /** The stage's median warm run time on this host, measured at deploy; 0 if unknown. */
  private final long warmRunNanos;
  /** The stage's compute on the planner's reference host (DeployRequest); 0 if not given. */
  private final long referenceNanos;
  private final WorkerConfig config;
  private final WorkerStats stats;
  private final ResultSubscribers results;
  private final BlockingQueue<Work> queue;
  private final ManagedChannel nextChannel;
  private final FrameStream next;
  private final Thread computeThread;
  private volatile boolean accepting = true;
  private volatile boolean running = true;
  private volatile boolean busy;
  /** When the emulated device finishes its current frame (compute thread only). */
  private long deviceFreeAt;

  StageRunner(DeployRequest d, OnnxSession session, long warmRunNanos, WorkerConfig config, WorkerStats stats,
      ResultSubscribers results) {
    this.warmRunNanos = warmRunNanos;
    this.referenceNanos = Math.round(d.getReferenceSeconds() * 1e9);
    this.epoch = d.getPlanEpoch();
    this.stageIndex = d.getStageIndex();
    this.stageCount = d.getStageCount();
    this.outputCodec = TensorCodec.of(d.getOutputCodec(), d.getOutputEntropy());
    this.session = session;
    this.config = config;
    this.stats = stats;
    this.results = results;
    this.queue = new ArrayBlockingQueue<>(config.queueCapacity());
    if (d.getNextHop().isEmpty()) {
      this.nextChannel = null;
      this.next = null;
    } else {
      this.nextChannel = GrpcChannels.client(d.getNextHopName(), d.getNextHop(), config.security(), config.maxFrameBytes());
      this.next = new FrameStream(nextChannel, new FrameStream.Listener() {
        @Override
        public void rejected(long requestId, String error) {
          LOG.warning(() -> "next stage rejected request " + requestId + ": " + error);
        }

        @Override
        public void broken(Throwable cause) {
          LOG.fine(() -> "link to " + d.getNextHop() + " broke: " + cause);
        }
      });
    }
    this.computeThread = new Thread(null, this::computeLoop, "stage-" + stageIndex + "-epoch-" + epoch,
        OrtStack.STACK_BYTES);
    this.computeThread.setDaemon(true);
    this.computeThread.start();
  }

  long epoch() {
    return epoch;
  }

  int stageIndex() {
    return stageIndex;
  }

  int queued() {
    return queue.size();
  }

  /** Queues a frame, waiting for room (back-pressure); false when refused. */
  boolean offer(Work w) throws InterruptedException {
    return accepting && queue.offer(w, BLOCK_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** Stops taking frames and waits until the queued ones are done; returns true if drained. */
  boolean drain(long timeoutMillis) throws InterruptedException {
    accepting = false;
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while ((!queue.isEmpty() || busy) && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    return queue.isEmpty() && !busy;
  }

  private void computeLoop() {
    while (running) {
      Work w;
      try {
        w = queue.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      if (w == null) {
        continue;
      }
      busy = true;
      try {
        forward(process(w));
      } finally {
        busy = false;
      }
    }
  }

  private Frame process(Work w) {
    Frame in = w.frame();
    stats.queueNanos.addAndGet(System.nanoTime() - w.enqueuedNanos());
    if (!in.getError().isEmpty()) {
      return in.toBuilder().setStageIndex(stageIndex + 1).build();
    }
    try {
      long t0 = System.nanoTime();
      long cpu0 = CPU.getCurrentThreadCpuTime();
      Map<String, TensorData> out = session.run(w.inputs());
      stats.computeNanos.addAndGet(System.nanoTime() - t0);
      if (config.slowdown() > 1.0) {
        emulateSlowDevice(w, CPU.getCurrentThreadCpuTime() - cpu0);
      }
      return Frames.encode(in.getRequestId(), epoch, stageIndex + 1, out.values(), outputCodec);
    } catch (OnnxRuntimeError e) {
      return Frames.error(in.getRequestId(), epoch, stageIndex + 1,
          "stage " + stageIndex + " on worker " + config.name() + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Frames.error(in.getRequestId(), epoch, stageIndex + 1, "worker " + config.name() + " stopping");
    }
  }

  /**
   * Holds the frame until a device {@code slowdown} times slower than the reference host would be
   * done with it. Its work per frame is the stage's compute on the reference host as the planner
   * profiled it (DeployRequest.reference_seconds): the emulated device is then the one the cost
   * model describes, and what the runtime adds on this host (each stage is its own ONNX Runtime
   * call, with its own input and output copies, plus codecs and transport) is measured, not
   * multiplied by the slowdown. Without a reference time it is the stage's warm run measured at
   * deploy, or else this thread's CPU time for the frame (a single run on a mostly idle thread is
   * slower than a warm one, and multiplying that noise would emulate a slower device than asked). The device starts a frame when it arrives or when it finishes the previous
   * one, whichever is later, so late wake-ups of this thread on a loaded host do not add up.
   */
  private void emulateSlowDevice(Work w, long cpuNanos) throws InterruptedException {
    long work = referenceNanos > 0 ? referenceNanos : warmRunNanos > 0 ? warmRunNanos : cpuNanos;
    long start = Math.max(deviceFreeAt, w.enqueuedNanos());
    long until = start + (long) (config.slowdown() * work);
    deviceFreeAt = Math.max(until, System.nanoTime());
    for (long left = until - System.nanoTime(); left > 0; left = until - System.nanoTime()) {
      LockSupport.parkNanos(left);
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
    }
  }

  long warmRunNanos() {
    return warmRunNanos;
  }

  long referenceNanos() {
    return referenceNanos;
  }

  private void forward(Frame out) {
    try {
      if (next == null) {
        if (!results.deliver(out, BLOCK_MILLIS)) {
          LOG.warning(() -> "no result subscriber for epoch " + epoch + "; dropped request " + out.getRequestId());
          return;
        }
      } else {
        next.send(out, BLOCK_MILLIS);
      }
      stats.framesOut.incrementAndGet();
      stats.bytesOut.addAndGet(Frames.wireBytes(out));
    } catch (IOException e) {
      // The coordinator finds the dead peer by heartbeat and replays; nothing is answered twice.
      LOG.warning(() -> "stage " + stageIndex + " dropped request " + out.getRequestId() + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  boolean isLast() {
    return stageIndex == stageCount - 1;
  }

  @Override
  public void close() {
    accepting = false;
    running = false;
    computeThread.interrupt();
    if (next != null) {
      next.close();
      nextChannel.shutdownNow();
    }
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
