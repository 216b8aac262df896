package dev.shoal.bench.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.model.TensorData;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.serving.LocalBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The bench's closed-loop load against the real gateway (an in-process backend): right answers
 * are counted as right, wrong ones as wrong, and refusals as failures that name the gateway's
 * status.
 */
class BinaryLoadTest {

  @Test
  void theLoadChecksEachAnswerAndCountsRefusals() {
    byte[] model = ModelZoo.mobileNetV2(32, 0.25, 10, 3).toByteArray();
    ModelGraph graph = ModelGraph.of(ModelZoo.mobileNetV2(32, 0.25, 10, 3), "m");
    List<Load.Sample> samples = new ArrayList<>();
    List<Load.Sample> wrong = new ArrayList<>();
    try (OnnxSession s = OnnxSession.open(model, new OnnxSession.Options(1, false));
        LocalBackend backend = LocalBackend.open("m", model, LocalBackend.Options.DEFAULT);
        Gateway gateway = Gateway.start(backend, 0, 0)) {
      for (int i = 0; i < 3; i++) {
        Map<String, TensorData> in = SampleInputs.random(graph, 1, i);
        TensorData x = in.values().iterator().next();
        TensorData y = s.run(in).values().iterator().next();
        samples.add(new Load.Sample(x, y));
        float[] off = y.floats();
        off[0] += 1f;
        wrong.add(new Load.Sample(x, TensorData.ofFloats(y.name(), y.shape(), off)));
      }
      Load.Result ok = Load.run(gateway.httpPort(), "m", samples, 2, 1.0);
      assertThat(ok.answered()).isPositive();
      assertThat(ok.failed()).isZero();
      assertThat(ok.wrong()).isZero();
      Load.Result bad = Load.run(gateway.httpPort(), "m", wrong, 1, 0.5);
      assertThat(bad.wrong()).isEqualTo(bad.answered()).isPositive();
      Load.Result missing = Load.run(gateway.httpPort(), "nope", samples, 1, 0.2);
      assertThat(missing.answered()).isZero();
      assertThat(missing.failed()).isPositive();
      assertThat(missing.errors()).first().asString().startsWith("HTTP 404 ");
    }
  }
}
