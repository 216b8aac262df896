package dev.shoal.runtime.worker;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * ONNX Runtime overflows a default 1 MiB Java thread stack while loading (and shape-inferring)
 * models: the process dies with SIGSEGV and no Java stack trace. Work that touches it runs on
 * threads with a {@link #STACK_BYTES} stack: this helper's, or ones made with that size.
 */
public final class OrtStack {
  public static final long STACK_BYTES = 16L << 20;

  private OrtStack() {}

  /** Runs {@code work} on a fresh thread with a large stack and returns its result or rethrows. */
  public static <T> T call(String name, Supplier<T> work) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Thread t = new Thread(null, () -> {
      try {
        result.complete(work.get());
      } catch (RuntimeException | Error e) {
        result.completeExceptionally(e);
      }
    }, name, STACK_BYTES);
    t.start();
    try {
      return result.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw e;
    }
  }
}
