package dev.shoal.runtime.ensemble;

import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Class parallelism, the baseline of the VP paper: N sub-models each score their own subset of the
 * classes; the scores are placed at their classes' positions in one vector (concatenation in class
 * order) and a softmax over it gives the probabilities ({@link EnsembleOutputs}).
 *
 * <p>A missing sub-model (down, failed or past the deadline) <b>degrades</b> the answer rather
 * than failing it: its classes get probability 0, so an input of one of those classes is
 * misclassified — the availability loss the paper describes — and the response says {@code
 * degraded = true}.
 */
public final class ClassParallelBackend implements ServingBackend {

  /** A sub-model and the global class ids its score columns stand for, in column order. */
  public record Shard(EnsembleMember member, int[] classIds) {}

  private final ServedModel model;
  private final List<Shard> shards;
  private final List<String> shardInputs;
  private final List<String> shardOutputs;
  private final int numClasses;
  private final Duration deadline;
  private final ScheduledExecutorService timer;
  private final MemberTally tally;

  /**
   * @throws IllegalArgumentException when the shards do not cover each class exactly once, or a
   *     sub-model is not one input to one FP32 [N, its class count] output
   */
  public ClassParallelBackend(String name, List<Shard> shards, int numClasses, Duration deadline) {
    if (shards.isEmpty()) {
      throw new IllegalArgumentException("class parallelism needs at least one sub-model");
    }
    boolean[] owned = new boolean[numClasses];
    List<String> inputs = new ArrayList<>();
    List<String> outputs = new ArrayList<>();
    TensorSpec input = null;
    for (Shard s : shards) {
      for (int c : s.classIds()) {
        if (c < 0 || c >= numClasses || owned[c]) {
          throw new IllegalArgumentException("sub-model '" + s.member().name() + "': class " + c
              + (c < 0 || c >= numClasses ? " is outside [0, " + numClasses + ")" : " is owned twice"));
        }
        owned[c] = true;
      }
      ServedModel sm = VariantEnsembleBackend.memberModel(s.member());
      List<TensorSpec> scores = sm.outputs().stream().filter(o -> o.dtype() == DType.FLOAT).toList();
      if (sm.inputs().size() != 1 || scores.size() != 1 || scores.get(0).shape().length != 2
          || (scores.get(0).shape()[1] >= 0 && scores.get(0).shape()[1] != s.classIds().length)) {
        throw new IllegalArgumentException("sub-model '" + s.member().name() + "' must take one input and "
            + "output FP32 scores [N, " + s.classIds().length + "]; it has " + sm.inputs() + " -> " + sm.outputs());
      }
      if (input == null) {
        input = sm.inputs().get(0);
      } else if (!Arrays.equals(input.shape(), sm.inputs().get(0).shape())
          || input.dtype() != sm.inputs().get(0).dtype()) {
        throw new IllegalArgumentException("sub-model '" + s.member().name() + "' takes " + sm.inputs().get(0)
            + ", another takes " + input + ": all must take the same input");
      }
      inputs.add(sm.inputs().get(0).name());
      outputs.add(scores.get(0).name());
    }
    for (int c = 0; c < numClasses; c++) {
      if (!owned[c]) {
        throw new IllegalArgumentException("class " + c + " is owned by no sub-model");
      }
    }
    this.shards = List.copyOf(shards);
    this.shardInputs = List.copyOf(inputs);
    this.shardOutputs = List.copyOf(outputs);
    this.numClasses = numClasses;
    this.deadline = deadline;
    this.model = EnsembleOutputs.servedModel(name, "shoal_class_parallel", input, numClasses);
    this.tally = new MemberTally(name, "sub-model", shards.stream().map(Shard::member).toList());
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "shoal-class-parallel-" + name);
      t.setDaemon(true);
      return t;
    });
  }

  @Override
  public List<ServedModel> models() {
    return List.of(model);
  }

  /** Ready while any sub-model is (answers are then degraded). */
  @Override
  public boolean ready() {
    return shards.stream().anyMatch(s -> s.member().backend().ready());
  }

  @Override
  public CompletableFuture<InferenceResult> infer(InferenceCall call) {
    String name = call.model();
    Map<String, TensorData> inputs = call.inputs();
    TensorData input;
    try {
      input = FanOut.theOneInput(model, name, inputs);
    } catch (InferenceException e) {
      return CompletableFuture.failedFuture(e);
    }
    tally.request();
    int rows = (int) input.shape()[0];
    return FanOut.send(shards.stream().map(Shard::member).toList(), shardInputs, input, deadline, timer)
        .thenApply(replies -> InferenceResult.of(concatenate(rows, replies)));
  }

  private Map<String, TensorData> concatenate(int rows, List<FanOut.Reply> replies) {
    double[][] logits = new double[rows][numClasses];
    boolean[] present = new boolean[numClasses];
    MemberTally.Replies tallied = tally.replies();
    for (int i = 0; i < replies.size(); i++) {
      Shard shard = shards.get(i);
      String member = shard.member().name();
      if (replies.get(i) instanceof FanOut.Answered a) {
        TensorData scores = a.outputs().get(shardOutputs.get(i));
        int width = shard.classIds().length;
        if (scores == null || !Arrays.equals(scores.shape(), new long[] {rows, width})) {
          tallied.missing(member, "bad answer: expected '" + shardOutputs.get(i) + "' [" + rows + ", " + width + "]");
        } else {
          float[] v = scores.floats();
          for (int r = 0; r < rows; r++) {
            for (int j = 0; j < width; j++) {
              logits[r][shard.classIds()[j]] = v[r * width + j];
            }
          }
          for (int c : shard.classIds()) {
            present[c] = true;
          }
          tallied.answered(member);
        }
      } else {
        tallied.missing(member, ((FanOut.Missing) replies.get(i)).reason());
      }
    }
    boolean isDegraded = tallied.close();
    float[][] probabilities = new float[rows][];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < numClasses; c++) {
        if (!present[c]) {
          logits[r][c] = Double.NEGATIVE_INFINITY; // a missing sub-model's classes get probability 0
        }
      }
      probabilities[r] = EnsembleOutputs.softmax(logits[r]);
    }
    return EnsembleOutputs.tensors(probabilities, isDegraded, tallied.answeredCount());
  }

  @Override
  public List<String> status() {
    List<String> lines = new ArrayList<>();
    lines.add(String.format("class-parallel '%s': %d sub-models, %d classes, deadline %d ms; %d requests, %d degraded",
        model.name(), shards.size(), numClasses, deadline.toMillis(), tally.requests(), tally.degraded()));
    for (Shard s : shards) {
      String n = s.member().name();
      lines.add(String.format("  sub-model %s classes %s: %s; answered %d, missing %d", n,
          Arrays.toString(s.classIds()), s.member().backend().ready() ? "ready" : "DOWN", tally.answered(n),
          tally.missed(n)));
      s.member().backend().status().forEach(l -> lines.add("    " + l));
    }
    return lines;
  }

  @Override
  public void close() {
    timer.shutdownNow();
    for (Shard s : shards) {
      s.member().backend().close();
    }
  }
}
