package dev.shoal.model.graph;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Seeded inputs for a graph: float tensors uniform in [-1, 1), other types zeros. */
public final class SampleInputs {

  private SampleInputs() {}

  /** One tensor per graph input, with every batch dimension set to {@code batch}. */
  public static Map<String, TensorData> random(ModelGraph graph, int batch, long seed) {
    Random random = new Random(seed);
    Map<String, TensorData> inputs = new LinkedHashMap<>();
    for (String name : graph.inputs()) {
      TensorInfo t = graph.tensor(name);
      long[] shape = t.shape().clone();
      for (int i = 0; i < shape.length; i++) {
        if (shape[i] < 0) {
          shape[i] = t.sampleShape()[i] * batch;
        }
      }
      int count = Math.toIntExact(TensorData.elementCount(shape));
      byte[] data = new byte[count * t.dtype().byteSize()];
      if (t.dtype() == DType.FLOAT) {
        var floats = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (int i = 0; i < count; i++) {
          floats.put(random.nextFloat() * 2 - 1);
        }
      }
      inputs.put(name, new TensorData(name, t.dtype(), shape, data));
    }
    return inputs;
  }
}
