package dev.shoal.train.export;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.data.BatchMaker;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Runs an exported model over a whole data set with ONNX Runtime, batch by batch. */
public final class OnnxEvaluator {

  private OnnxEvaluator() {}

  /**
   * Every output of {@code model} for every image of {@code data} (normalised, not augmented), the
   * batches concatenated along the first dimension.
   */
  public static Map<String, TensorData> run(Path model, BatchMaker data, int batchSize, int threads) {
    int[] order = data.sequentialOrder();
    int rows = data.data().rows();
    int cols = data.data().cols();
    Map<String, ByteArrayOutputStream> bytes = new LinkedHashMap<>();
    Map<String, TensorData> last = new LinkedHashMap<>();
    try (OnnxSession session = OnnxSession.open(model, new OnnxSession.Options(threads, false))) {
      for (int from = 0; from < order.length; from += batchSize) {
        int to = Math.min(order.length, from + batchSize);
        TensorData x =
            TensorData.ofFloats(
                OnnxModels.INPUT,
                new long[] {to - from, 1, rows, cols},
                data.images(order, from, to, Augmentation.NONE, null));
        Map<String, TensorData> out = session.run(Map.of(OnnxModels.INPUT, x));
        for (var e : out.entrySet()) {
          bytes.computeIfAbsent(e.getKey(), k -> new ByteArrayOutputStream()).writeBytes(e.getValue().data());
          last.put(e.getKey(), e.getValue());
        }
      }
    }
    Map<String, TensorData> result = new LinkedHashMap<>();
    for (var e : last.entrySet()) {
      long[] shape = e.getValue().shape().clone();
      shape[0] = order.length;
      result.put(e.getKey(), new TensorData(e.getKey(), e.getValue().dtype(), shape, bytes.get(e.getKey()).toByteArray()));
    }
    return result;
  }
}
