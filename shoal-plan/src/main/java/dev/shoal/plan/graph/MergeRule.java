package dev.shoal.plan.graph;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.shoal.model.DType;
import dev.shoal.model.TensorSpec;
import java.util.List;

/**
 * How a merge combines its members' answers. Each rule names the tensors it takes from every
 * member ({@link #roles()}) and the outputs it gives. The runtime runs each rule with its own
 * merger; a new rule is a new record here plus its merger there.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
  @JsonSubTypes.Type(value = MergeRule.TopKFusion.class, name = "topk-fusion"),
  @JsonSubTypes.Type(value = MergeRule.ClassConcat.class, name = "class-concat"),
  @JsonSubTypes.Type(value = MergeRule.WeightedAverage.class, name = "weighted-average"),
  @JsonSubTypes.Type(value = MergeRule.Routed.class, name = "routed"),
  @JsonSubTypes.Type(value = MergeRule.Sum.class, name = "sum")
})
public sealed interface MergeRule {

  String PROBABILITIES = "probabilities";
  String CLASS = "class";
  String DEGRADED = "degraded";
  String ANSWERED = "answered";

  /** What the merge takes from each member (e.g. top-k class ids and scores). */
  List<String> roles();

  /** The tensors the merge answers with. */
  List<TensorSpec> outputs();

  /**
   * Variant parallelism: each member's top-k ({@code ids} INT64[N,k], {@code scores} FP32[N,k])
   * scattered into a class vector, scaled by the member's weight, summed over the members that
   * answered, then a softmax. Any non-empty subset of members gives a full-class answer.
   */
  record TopKFusion(int numClasses) implements MergeRule {
    public List<String> roles() {
      return List.of("ids", "scores");
    }

    public List<TensorSpec> outputs() {
      return classifierOutputs(numClasses);
    }
  }

  /**
   * Class parallelism: each member scores its own classes ({@code scores} FP32[N, its classes]);
   * the scores are placed at their classes and a softmax taken. A missing member's classes get
   * probability 0.
   */
  record ClassConcat(int numClasses) implements MergeRule {
    public List<String> roles() {
      return List.of("scores");
    }

    public List<TensorSpec> outputs() {
      return classifierOutputs(numClasses);
    }
  }

  /**
   * The weighted average of the members' {@code values} (FP32, all of one shape) over the members
   * that answered, as {@code output}.
   */
  record WeightedAverage(String output, long[] shape) implements MergeRule {
    public List<String> roles() {
      return List.of("values");
    }

    public List<TensorSpec> outputs() {
      return List.of(new TensorSpec(output, DType.FLOAT, shape), new TensorSpec(ANSWERED, DType.INT32, new long[] {1}));
    }
  }

  /**
   * One member per request: the coordinator sends each request to one member only, the one whose
   * device has the fewest requests in flight (a member that fails or is lost hands the request to
   * another), and that member's {@code values} (FP32, {@code shape}) are the answer, as {@code
   * output}. Fluid high-throughput mode: each sub-network answers alone on its own device.
   */
  record Routed(String output, long[] shape) implements MergeRule {
    public List<String> roles() {
      return List.of("values");
    }

    public List<TensorSpec> outputs() {
      return List.of(new TensorSpec(output, DType.FLOAT, shape));
    }
  }

  /**
   * Width parallelism: the element-wise sum of every member's {@code values} (FP32, all of one
   * shape) as {@code output}, e.g. the partial logits of a separable network's devices. Every
   * member is needed; with one missing the request fails rather than answer a partial sum.
   */
  record Sum(String output, long[] shape) implements MergeRule {
    public List<String> roles() {
      return List.of("values");
    }

    public List<TensorSpec> outputs() {
      return List.of(new TensorSpec(output, DType.FLOAT, shape));
    }
  }

  /** probabilities FP32[N,C], class INT64[N], degraded BOOL[1], answered INT32[1]. */
  static List<TensorSpec> classifierOutputs(int numClasses) {
    return List.of(new TensorSpec(PROBABILITIES, DType.FLOAT, new long[] {-1, numClasses}),
        new TensorSpec(CLASS, DType.INT64, new long[] {-1}),
        new TensorSpec(DEGRADED, DType.BOOL, new long[] {1}),
        new TensorSpec(ANSWERED, DType.INT32, new long[] {1}));
  }
}
