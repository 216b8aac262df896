package dev.shoal.runtime.ensemble;

import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.family.TopKFusion;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Variant parallelism: every input goes to all variants at once (each typically on its own
 * worker), each answers with its top-k (class ids INT64[N,k], scores FP32[N,k]), and the answers
 * are fused here by the family's rule, {@link TopKFusion} (scatter each variant's top-k scores into
 * a class vector, scaled by its fusion weight, and sum), followed by the paper's softmax to give
 * probabilities. After the per-request deadline the answer is fused from
 * the variants that arrived; a variant that is down is not waited for.
 *
 * <p>Outputs are {@link EnsembleOutputs}: fused probabilities, class, and {@code degraded} = true
 * when fewer than all variants were fused. With no variant answering the request fails
 * UNAVAILABLE.
 */
public final class VariantEnsembleBackend implements ServingBackend {

  /** A variant: where it runs and the weight of its scores in the fusion. */
  public record Variant(EnsembleMember member, double fusionWeight) {}

  /** How a member's model names its top-k outputs. */
  private record TopKOutputs(String input, String classIds, String scores) {}

  private final ServedModel model;
  private final List<Variant> variants;
  private final List<TopKOutputs> outputs;
  private final int numClasses;
  private final Duration deadline;
  private final ScheduledExecutorService timer;
  private final MemberTally tally;

  /**
   * @param name the ensemble's model name in the API
   * @param deadline how long a request waits for the variants before fusing what arrived
   * @throws IllegalArgumentException when a variant's model is not one input to top-k ids + scores,
   *     or the variants disagree on the input
   */
  public VariantEnsembleBackend(String name, List<Variant> variants, int numClasses, Duration deadline) {
    if (variants.isEmpty()) {
      throw new IllegalArgumentException("an ensemble needs at least one variant");
    }
    if (numClasses < 2) {
      throw new IllegalArgumentException("numClasses must be >= 2, got " + numClasses);
    }
    this.variants = List.copyOf(variants);
    this.numClasses = numClasses;
    this.deadline = deadline;
    this.outputs = variants.stream().map(v -> topKOutputs(v.member())).toList();
    TensorSpec input = memberModel(variants.get(0).member()).inputs().get(0);
    for (Variant v : variants) {
      TensorSpec other = memberModel(v.member()).inputs().get(0);
      if (other.dtype() != input.dtype() || !Arrays.equals(other.shape(), input.shape())) {
        throw new IllegalArgumentException("variant '" + v.member().name() + "' takes " + other
            + " but variant '" + variants.get(0).member().name() + "' takes " + input
            + ": every variant must take the same input");
      }
    }
    this.model = EnsembleOutputs.servedModel(name, "shoal_variant_ensemble", input, numClasses);
    this.tally = new MemberTally(name, "variant", variants.stream().map(Variant::member).toList());
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "shoal-ensemble-" + name);
      t.setDaemon(true);
      return t;
    });
  }

  static ServedModel memberModel(EnsembleMember m) {
    return m.backend().models().stream().filter(s -> s.name().equals(m.model())).findFirst()
        .orElseThrow(() -> new IllegalArgumentException(
            "member '" + m.name() + "': its backend does not serve model '" + m.model() + "'"));
  }

  private static TopKOutputs topKOutputs(EnsembleMember m) {
    ServedModel sm = memberModel(m);
    if (sm.inputs().size() != 1) {
      throw new IllegalArgumentException("variant '" + m.name() + "' must have one input, has " + sm.inputs());
    }
    List<TensorSpec> ids = sm.outputs().stream().filter(o -> o.dtype() == DType.INT64).toList();
    List<TensorSpec> scores = sm.outputs().stream().filter(o -> o.dtype() == DType.FLOAT).toList();
    if (ids.size() != 1 || scores.size() != 1) {
      throw new IllegalArgumentException("variant '" + m.name() + "' must output top-k class ids (INT64) and "
          + "scores (FP32), one each; it outputs " + sm.outputs());
    }
    return new TopKOutputs(sm.inputs().get(0).name(), ids.get(0).name(), scores.get(0).name());
  }

  @Override
  public List<ServedModel> models() {
    return List.of(model);
  }

  /** Ready while at least one variant is: any subset of the variants gives a full prediction. */
  @Override
  public boolean ready() {
    return variants.stream().anyMatch(v -> v.member().backend().ready());
  }

  public List<Variant> variants() {
    return variants;
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
    return FanOut.send(variants.stream().map(Variant::member).toList(),
        outputs.stream().map(TopKOutputs::input).toList(), input, deadline, timer)
        .thenApply(replies -> InferenceResult.of(fuse(rows, replies)));
  }

  private Map<String, TensorData> fuse(int rows, List<FanOut.Reply> replies) {
    List<List<TopKFusion.Answer>> perRow = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      perRow.add(new ArrayList<>());
    }
    MemberTally.Replies tallied = tally.replies();
    for (int i = 0; i < replies.size(); i++) {
      String member = variants.get(i).member().name();
      if (replies.get(i) instanceof FanOut.Answered a) {
        try {
          addRows(perRow, a.outputs(), outputs.get(i), variants.get(i).fusionWeight(), rows);
          tallied.answered(member);
        } catch (IllegalArgumentException e) {
          tallied.missing(member, "bad answer: " + e.getMessage());
        }
      } else {
        tallied.missing(member, ((FanOut.Missing) replies.get(i)).reason());
      }
    }
    boolean isDegraded = tallied.close();
    float[][] probabilities = new float[rows][];
    for (int r = 0; r < rows; r++) {
      probabilities[r] = EnsembleOutputs.softmax(TopKFusion.fuse(numClasses, perRow.get(r)));
    }
    return EnsembleOutputs.tensors(probabilities, isDegraded, tallied.answeredCount());
  }

  private static void addRows(List<List<TopKFusion.Answer>> perRow, Map<String, TensorData> answer,
      TopKOutputs names, double weight, int rows) {
    TensorData ids = answer.get(names.classIds());
    TensorData scores = answer.get(names.scores());
    if (ids == null || scores == null) {
      throw new IllegalArgumentException("missing '" + names.classIds() + "' or '" + names.scores() + "'");
    }
    if (ids.shape().length != 2 || ids.shape()[0] != rows || !Arrays.equals(ids.shape(), scores.shape())) {
      throw new IllegalArgumentException("top-k shapes " + Arrays.toString(ids.shape()) + " and "
          + Arrays.toString(scores.shape()) + " do not match a batch of " + rows);
    }
    int k = (int) ids.shape()[1];
    ByteBuffer idBuf = ByteBuffer.wrap(ids.data()).order(ByteOrder.LITTLE_ENDIAN);
    float[] s = scores.floats();
    for (int r = 0; r < rows; r++) {
      long[] rowIds = new long[k];
      for (int j = 0; j < k; j++) {
        rowIds[j] = idBuf.getLong();
      }
      perRow.get(r).add(new TopKFusion.Answer(weight, rowIds, Arrays.copyOfRange(s, r * k, (r + 1) * k)));
    }
  }

  @Override
  public List<String> status() {
    List<String> lines = new ArrayList<>();
    lines.add(String.format("variant ensemble '%s': %d variants, %d classes, deadline %d ms; %d requests, %d degraded",
        model.name(), variants.size(), numClasses, deadline.toMillis(), tally.requests(), tally.degraded()));
    for (Variant v : variants) {
      String n = v.member().name();
      lines.add(String.format("  variant %s (weight %.3f): %s; answered %d, missing %d", n, v.fusionWeight(),
          v.member().backend().ready() ? "ready" : "DOWN", tally.answered(n), tally.missed(n)));
      v.member().backend().status().forEach(s -> lines.add("    " + s));
    }
    return lines;
  }

  /** Closes the timer and every variant's backend. */
  @Override
  public void close() {
    timer.shutdownNow();
    for (Variant v : variants) {
      v.member().backend().close();
    }
  }
}
