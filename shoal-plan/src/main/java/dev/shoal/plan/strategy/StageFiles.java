package dev.shoal.plan.strategy;

import dev.shoal.model.TensorSpec;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.StageModel;
import java.util.List;
import java.util.Map;

/** Helpers the producers share: stage files and model signatures. */
final class StageFiles {

  private StageFiles() {}

  /** The stage's model record for {@code bytes} stored as {@code file}, after recording the bytes. */
  static StageModel add(Map<String, byte[]> models, String file, byte[] bytes) {
    models.put(file, bytes);
    return new StageModel(file, PlanBundle.sha256(bytes));
  }

  /** A model's inputs and outputs as ONNX Runtime reads them. */
  record Signature(List<TensorSpec> inputs, List<TensorSpec> outputs) {
    List<String> inputNames() {
      return inputs.stream().map(TensorSpec::name).toList();
    }

    List<String> outputNames() {
      return outputs.stream().map(TensorSpec::name).toList();
    }
  }

  static Signature signature(byte[] onnx) {
    try (OnnxSession s = OnnxSession.open(onnx, OnnxSession.Options.DEFAULT)) {
      return new Signature(s.inputs(), s.outputs());
    }
  }
}
