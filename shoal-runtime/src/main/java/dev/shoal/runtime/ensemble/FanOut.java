package dev.shoal.runtime.ensemble;

import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import dev.shoal.runtime.serving.ServedModel;
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

  /**
   * The one input of a request to an ensemble served as {@code model}.
   *
   * @throws InferenceException NOT_FOUND for another model's name, BAD_INPUT unless the request has
   *     exactly the model's one input
   */
  static TensorData theOneInput(ServedModel model, String name, Map<String, TensorData> inputs) {
    if (!model.name().equals(name)) {
      throw new InferenceException(Kind.NOT_FOUND, "unknown model '" + name + "'");
    }
    String inputName = model.inputs().get(0).name();
    TensorData input = inputs.get(inputName);
    if (input == null || inputs.size() != 1) {
      throw new InferenceException(Kind.BAD_INPUT,
          "model '" + name + "' takes exactly one input '" + inputName + "', got " + inputs.keySet());
    }
    return input;
  }

  /**
   * Sends {@code input} to every member, named as each member's model calls its input, and completes
   * with one reply per member (in order) when all answered or the deadline passed.
   */
  static CompletableFuture<List<Reply>> send(List<EnsembleMember> members, List<String> memberInputNames,
      TensorData input, Duration deadline, ScheduledExecutorService timer) {
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
      CompletableFuture<InferenceResult> call;
      if (!m.backend().ready()) {
        call = CompletableFuture.failedFuture(new IllegalStateException("not ready"));
      } else {
        try {
          call = m.backend().infer(InferenceCall.within(
              m.model(), Map.of(memberInputNames.get(i), input.withName(memberInputNames.get(i))), deadline));
        } catch (RuntimeException e) {
          call = CompletableFuture.failedFuture(e);
        }
      }
      call.whenComplete((out, failure) -> {
        synchronized (replies) {
          if (!done.isDone()) {
            replies[index] = failure == null
                ? new Answered(out.outputs())
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
