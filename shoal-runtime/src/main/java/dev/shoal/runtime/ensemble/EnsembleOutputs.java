package dev.shoal.runtime.ensemble;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.plan.graph.MergeRule;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the variant- and class-parallel merges answer: {@code probabilities} FP32[N,C], {@code
 * class} INT64[N] (argmax), {@code degraded} BOOL[1] (true when only some members were combined —
 * the client sees it as an ordinary output tensor over REST and gRPC alike) and {@code answered}
 * INT32[1] (how many members were combined).
 */
public final class EnsembleOutputs {

  public static final String PROBABILITIES = MergeRule.PROBABILITIES;
  public static final String CLASS = MergeRule.CLASS;
  public static final String DEGRADED = MergeRule.DEGRADED;
  public static final String ANSWERED = MergeRule.ANSWERED;

  private EnsembleOutputs() {}

  /** @param probabilities one row of class probabilities per input */
  static Map<String, TensorData> tensors(float[][] probabilities, boolean degraded, int answered) {
    int rows = probabilities.length;
    int classes = rows == 0 ? 0 : probabilities[0].length;
    ByteBuffer probs = ByteBuffer.allocate(rows * classes * 4).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer argmax = ByteBuffer.allocate(rows * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (float[] p : probabilities) {
      for (float v : p) {
        probs.putFloat(v);
      }
      argmax.putLong(argmax(p));
    }
    Map<String, TensorData> out = new LinkedHashMap<>();
    out.put(PROBABILITIES, new TensorData(PROBABILITIES, DType.FLOAT, new long[] {rows, classes}, probs.array()));
    out.put(CLASS, new TensorData(CLASS, DType.INT64, new long[] {rows}, argmax.array()));
    out.put(DEGRADED, new TensorData(DEGRADED, DType.BOOL, new long[] {1}, new byte[] {(byte) (degraded ? 1 : 0)}));
    out.put(ANSWERED, new TensorData(ANSWERED, DType.INT32, new long[] {1},
        ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(answered).array()));
    return out;
  }

  /** Softmax of a score vector; -infinity entries get probability 0. */
  public static float[] softmax(double[] scores) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : scores) {
      max = Math.max(max, v);
    }
    double total = 0;
    double[] e = new double[scores.length];
    for (int i = 0; i < scores.length; i++) {
      e[i] = Math.exp(scores[i] - max);
      total += e[i];
    }
    float[] out = new float[scores.length];
    for (int i = 0; i < scores.length; i++) {
      out[i] = (float) (e[i] / total);
    }
    return out;
  }

  /** Index of the largest value (the first on ties). */
  public static int argmax(float[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }

  /** The class ids of an answer's {@code class} output. */
  public static long[] classes(Map<String, TensorData> answer) {
    ByteBuffer b = ByteBuffer.wrap(answer.get(CLASS).data()).order(ByteOrder.LITTLE_ENDIAN);
    long[] out = new long[b.remaining() / 8];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.getLong();
    }
    return out;
  }

  public static boolean degraded(Map<String, TensorData> answer) {
    return answer.get(DEGRADED).data()[0] != 0;
  }

  public static int answered(Map<String, TensorData> answer) {
    return ByteBuffer.wrap(answer.get(ANSWERED).data()).order(ByteOrder.LITTLE_ENDIAN).getInt();
  }
}
