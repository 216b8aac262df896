package dev.shoal.bench.variants;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import java.nio.file.Path;

/**
 * Size of one exported model: parameters (float32 weights in the ONNX file, batch norm folded) and
 * MACs per image (shoal-model's cost model).
 */
record ModelStats(long params, long macs) {

  static ModelStats of(Path file) {
    ModelGraph graph = ModelGraph.load(file);
    long params = 0;
    for (TensorProto t : graph.model().getGraph().getInitializerList()) {
      if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE) {
        params += t.getDimsList().stream().mapToLong(Long::longValue).reduce(1, Math::multiplyExact);
      }
    }
    return new ModelStats(params, ModelProfile.of(graph).totalMacs());
  }
}
