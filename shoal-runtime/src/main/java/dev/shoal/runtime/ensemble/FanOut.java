package dev.shoal.runtime.ensemble;

import dev.shoal.model.TensorData;
import dev.shoal.runtime.serving.InferenceException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sends one input to every member at once and collects what comes back by a deadline: the result
 * completes when all members have answered or failed, or when the deadline passes, whichever is
 * first; members that are not ready are not asked. Answers after the deadline are dropped.
 */
final class FanOut {

  /** What one member contributed to a request. */
  sealed interface Reply permits Answered, Missing {}

  record Answered(Map<String, TensorData> outputs) implements Reply {}

  record Missing(String reason) implements Reply {}

  private FanOut() {}

  static CompletableFuture<List<Reply>> send(List<EnsembleMember> members, List<Map<String, TensorData>> inputs,
      Duration deadline, ScheduledExecutorService timer) {
    int n = members.size();
    Reply[] replies = new Reply[n];
    CompletableFuture<List<Reply>> done = new CompletableFuture<>();
    AtomicInteger remaining = new AtomicInteger(n);
    Runnable finish = () -> {
      synchronized (replies) {
        if (done.isDone()) {
          return;
        }
        for (int i = 0; i < n; i++) {
          if (replies[i] == null) {
            replies[i] = new Missing("no answer within " + deadline.toMillis() + " ms");
          }
        }
        done.complete(List.copyOf(Arrays.asList(replies)));
      }
    };
    for (int i = 0; i < n; i++) {
      int index = i;
      EnsembleMember m = members.get(i);
      CompletableFuture<Map<String, TensorData>> call;
      if (!m.backend().ready()) {
        call = CompletableFuture.failedFuture(new IllegalStateException("not ready"));
      } else {
        try {
          call = m.backend().infer(m.model(), inputs.get(i));
        } catch (RuntimeException e) {
          call = CompletableFuture.failedFuture(e);
        }
      }
      call.whenComplete((out, failure) -> {
        synchronized (replies) {
          if (!done.isDone()) {
            replies[index] = failure == null
                ? new Answered(out)
                : new Missing(InferenceException.of(failure).getMessage());
          }
        }
        if (remaining.decrementAndGet() == 0) {
          finish.run();
        }
      });
    }
    if (!done.isDone()) {
      var timeout = timer.schedule(finish, deadline.toNanos(), TimeUnit.NANOSECONDS);
      done.whenComplete((r, t) -> timeout.cancel(false));
    }
    return done;
  }
}
