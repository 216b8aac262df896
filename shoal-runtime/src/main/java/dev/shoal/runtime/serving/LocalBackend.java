package dev.shoal.runtime.serving;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxRuntimeError;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.runtime.serving.InferenceException.Kind;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The single-machine reference: one ONNX Runtime session on a whole model, run by a few threads
 * with a bounded queue (a full queue answers UNAVAILABLE rather than piling up work).
 */
public final class LocalBackend implements ServingBackend {

  /**
   * @param intraOpThreads ONNX Runtime threads per run
   * @param concurrentRuns runs in parallel on the one session (ONNX Runtime sessions are thread-safe)
   * @param queue requests that may wait for a run
   */
  public record Options(int intraOpThreads, int concurrentRuns, int queue) {
    public static final Options DEFAULT = new Options(1, 2, 1024);

    public Options {
      if (intraOpThreads < 1 || concurrentRuns < 1 || queue < 1) {
        throw new IllegalArgumentException("LocalBackend options must all be >= 1: " + this);
      }
    }
  }

  private final ServedModel model;
  private final OnnxSession session;
  private final ThreadPoolExecutor runner;
  private volatile boolean closed;

  private LocalBackend(String name, OnnxSession session, Options options) {
    this.session = session;
    this.model = new ServedModel(name, "1", "onnxruntime_onnx", session.inputs(), session.outputs());
    AtomicInteger n = new AtomicInteger();
    this.runner = new ThreadPoolExecutor(options.concurrentRuns(), options.concurrentRuns(), 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(options.queue()), r -> {
          Thread t = new Thread(r, "shoal-local-" + name + "-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * Opens the model file; an unreadable or invalid model fails here, not on the first request. The
   * file is checked as {@code shoal split} checks it ({@link ModelGraph#of}: structure, weights in
   * the file, tensor sizes bounded) before a session serves it.
   *
   * @throws dev.shoal.model.ModelFormatException naming the file and what is wrong
   */
  public static LocalBackend open(String name, Path onnx, Options options) {
    ModelGraph.of(OnnxModelIO.read(onnx), onnx.toString());
    return new LocalBackend(name, OnnxSession.open(onnx, new OnnxSession.Options(options.intraOpThreads(), false)),
        options);
  }

  public static LocalBackend open(String name, byte[] onnx, Options options) {
    return new LocalBackend(name, OnnxSession.open(onnx, new OnnxSession.Options(options.intraOpThreads(), false)),
        options);
  }

  @Override
  public List<ServedModel> models() {
    return List.of(model);
  }

  @Override
  public boolean ready() {
    return !closed;
  }

  @Override
  public CompletableFuture<InferenceResult> infer(InferenceCall call) {
    String name = call.model();
    if (!model.name().equals(name)) {
      return CompletableFuture.failedFuture(new InferenceException(Kind.NOT_FOUND, "unknown model '" + name + "'"));
    }
    if (closed) {
      return CompletableFuture.failedFuture(new InferenceException(Kind.UNAVAILABLE, "the backend is closed"));
    }
    try {
      return CompletableFuture.supplyAsync(() -> {
        try {
          return InferenceResult.of(session.run(call.inputs()));
        } catch (OnnxRuntimeError e) {
          throw new InferenceException(Kind.INTERNAL, "model '" + name + "' failed: " + e.getMessage(), e);
        }
      }, runner);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new InferenceException(
          Kind.UNAVAILABLE, "model '" + name + "' is overloaded: " + runner.getQueue().size() + " requests queued"));
    }
  }

  @Override
  public List<String> status() {
    return List.of("local ONNX Runtime session; running " + runner.getActiveCount() + ", queued "
        + runner.getQueue().size() + ", completed " + runner.getCompletedTaskCount());
  }

  /** Stops taking requests, lets queued ones finish (up to 5 s) and closes the session; idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    runner.shutdown();
    try {
      if (!runner.awaitTermination(5, TimeUnit.SECONDS)) {
        runner.shutdownNow();
      }
    } catch (InterruptedException e) {
      runner.shutdownNow();
      Thread.currentThread().interrupt();
    }
    session.close();
  }
}
