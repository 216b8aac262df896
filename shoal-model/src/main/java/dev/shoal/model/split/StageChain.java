package dev.shoal.model.split;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxSession;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link Split}'s stages one after another in this process, each in its own ONNX Runtime
 * session, passing each stage's outputs to the next: the reference the distributed runtime must
 * match, and the baseline of the split-overhead benchmark.
 */
public final class StageChain implements AutoCloseable {

  private final Split split;
  private final List<OnnxSession> sessions = new ArrayList<>();

  private StageChain(Split split, OnnxSession.Options options) {
    this.split = split;
    try {
      for (Stage s : split.stages()) {
        sessions.add(OnnxSession.open(s.model().toByteArray(), options));
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  public static StageChain open(Split split, OnnxSession.Options options) {
    return new StageChain(split, options);
  }

  /** Runs every stage on {@code inputs} (by model input name); returns the model outputs in order. */
  public Map<String, TensorData> run(Map<String, TensorData> inputs) {
    Map<String, TensorData> first = new HashMap<>();
    for (String name : split.stages().get(0).inputs()) {
      first.put(name, inputs.get(name));
    }
    Map<String, TensorData> last = OnnxSession.runChained(sessions, first);
    Map<String, TensorData> outputs = new LinkedHashMap<>();
    for (String name : split.modelOutputs()) {
      outputs.put(name, last.get(name));
    }
    return outputs;
  }

  @Override
  public void close() {
    sessions.forEach(OnnxSession::close);
  }
}
