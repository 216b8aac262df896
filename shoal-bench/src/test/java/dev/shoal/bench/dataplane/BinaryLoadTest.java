package dev.shoal.bench.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.TensorData;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.serving.LocalBackend;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The bench's KServe binary client and closed-loop load against the real gateway (an in-process
 * backend): answers come back bit for bit, wrong answers are counted as wrong, and errors name
 * the gateway's status.
 */
class BinaryLoadTest {

  @Test
  void binaryAnswersEqualTheModelsAndTheLoadChecksEachOne() throws IOException {
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
      try (BinaryRestClient client = new BinaryRestClient(gateway.httpPort(), "m")) {
        BinaryRestClient.Reply r = client.infer(samples.get(1).input());
        assertThat(r.outputs().get(samples.get(1).expected().name())).isEqualTo(samples.get(1).expected());
      }
      Load.Result ok = Load.run(gateway.httpPort(), "m", samples, 2, 1.0);
      assertThat(ok.answered()).isPositive();
      assertThat(ok.failed()).isZero();
      assertThat(ok.wrong()).isZero();
      Load.Result bad = Load.run(gateway.httpPort(), "m", wrong, 1, 0.5);
      assertThat(bad.wrong()).isEqualTo(bad.answered()).isPositive();
      try (BinaryRestClient client = new BinaryRestClient(gateway.httpPort(), "nope")) {
        assertThatThrownBy(() -> client.infer(samples.get(0).input())).isInstanceOf(IOException.class)
            .hasMessageContaining("404");
      }
    }
  }
}
