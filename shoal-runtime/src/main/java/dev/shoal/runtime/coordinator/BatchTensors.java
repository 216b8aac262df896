package dev.shoal.runtime.coordinator;

import dev.shoal.model.TensorData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Requests' tensors joined along dimension 0 into one batch, and a batch's answers cut back into them. */
final class BatchTensors {

  private BatchTensors() {}

  /** Rows of a request: dimension 0 of its first input (every input of a batched model has it). */
  static int rows(Map<String, TensorData> inputs) {
    long[] shape = inputs.values().iterator().next().shape();
    return shape.length == 0 ? 1 : Math.toIntExact(shape[0]);
  }

  /** What must agree for two requests to share a batch: every input's dimensions after the first. */
  static String shapeKey(Map<String, TensorData> inputs) {
    StringBuilder key = new StringBuilder();
    for (TensorData t : inputs.values()) {
      key.append(Arrays.toString(Arrays.copyOfRange(t.shape(), Math.min(1, t.shape().length), t.shape().length)));
    }
    return key.toString();
  }

  /** Each input of the requests, in order, concatenated along dimension 0. */
  static Map<String, TensorData> concat(List<Map<String, TensorData>> requests) {
    Map<String, TensorData> out = new LinkedHashMap<>();
    for (String name : requests.get(0).keySet()) {
      TensorData first = requests.get(0).get(name);
      long rows = 0;
      int bytes = 0;
      for (Map<String, TensorData> r : requests) {
        rows += r.get(name).shape()[0];
        bytes += r.get(name).data().length;
      }
      byte[] data = new byte[bytes];
      int at = 0;
      for (Map<String, TensorData> r : requests) {
        byte[] part = r.get(name).data();
        System.arraycopy(part, 0, data, at, part.length);
        at += part.length;
      }
      long[] shape = first.shape().clone();
      shape[0] = rows;
      out.put(name, new TensorData(name, first.dtype(), shape, data));
    }
    return out;
  }

  /**
   * A batch's outputs cut into each request's rows, in order.
   *
   * @throws IllegalStateException when an output's dimension 0 is not the batch's rows
   */
  static List<Map<String, TensorData>> split(Map<String, TensorData> outputs, int[] rows) {
    int total = Arrays.stream(rows).sum();
    List<Map<String, TensorData>> out = new ArrayList<>();
    for (int i = 0; i < rows.length; i++) {
      out.add(new LinkedHashMap<>());
    }
    for (TensorData t : outputs.values()) {
      if (t.shape().length == 0 || t.shape()[0] != total) {
        throw new IllegalStateException("output '" + t.name() + "' has shape " + Arrays.toString(t.shape())
            + ", not " + total + " rows of the batch: the model cannot be batched along dimension 0");
      }
      int rowBytes = t.data().length / total;
      int at = 0;
      for (int i = 0; i < rows.length; i++) {
        long[] shape = t.shape().clone();
        shape[0] = rows[i];
        int n = rows[i] * rowBytes;
        out.get(i).put(t.name(), new TensorData(t.name(), t.dtype(), shape, Arrays.copyOfRange(t.data(), at, at + n)));
        at += n;
      }
    }
    return out;
  }
}
