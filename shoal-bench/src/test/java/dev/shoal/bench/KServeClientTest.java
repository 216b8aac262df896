package dev.shoal.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.bench.KServeClient.Encoding;
import dev.shoal.model.TensorData;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.gateway.GatewayOptions;
import dev.shoal.runtime.serving.LocalBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The one KServe v2 REST client against the real gateway (an in-process backend): both encodings
 * give the model's answer, refusals come back as answers naming the gateway's status, concurrent
 * callers share one client, and a connection the gateway closed while idle is replaced.
 */
class KServeClientTest {

  @Test
  void bothEncodingsAnswerAsTheModelAndRefusalsNameTheStatus() throws Exception {
    byte[] model = ModelZoo.mobileNetV2(32, 0.25, 10, 3).toByteArray();
    ModelGraph graph = ModelGraph.of(ModelZoo.mobileNetV2(32, 0.25, 10, 3), "m");
    GatewayOptions shortIdle = GatewayOptions.defaults().withReadTimeouts(Duration.ofSeconds(10), Duration.ofMillis(200));
    try (OnnxSession session = OnnxSession.open(model, new OnnxSession.Options(1, false));
        LocalBackend backend = LocalBackend.open("m", model, LocalBackend.Options.DEFAULT);
        Gateway gateway = Gateway.start(backend, 0, 0, shortIdle)) {
      Map<String, TensorData> in = SampleInputs.random(graph, 1, 1);
      TensorData x = in.values().iterator().next();
      TensorData y = session.run(in).values().iterator().next();
      for (Encoding encoding : Encoding.values()) {
        try (KServeClient client = new KServeClient(gateway.httpPort(), "m", encoding)) {
          KServeClient.Answer a = client.infer(x);
          assertThat(a.ok()).as("%s: %s", encoding, a.error()).isTrue();
          assertThat(a.output(y.name())).as(encoding.name()).isEqualTo(y);
          assertThat(a.millis()).isPositive();
          assertThat(a.degraded()).isFalse();

          Thread.sleep(600); // past the gateway's idle limit: it closes the connection
          assertThat(client.infer(x).ok()).as("%s after an idle close", encoding).isTrue();

          ExecutorService callers = Executors.newFixedThreadPool(3);
          try {
            List<Future<KServeClient.Answer>> answers = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
              answers.add(callers.submit(() -> client.infer(x)));
            }
            for (Future<KServeClient.Answer> f : answers) {
              assertThat(f.get().output(y.name())).isEqualTo(y);
            }
          } finally {
            callers.shutdownNow();
          }
        }
        try (KServeClient missing = new KServeClient(gateway.httpPort(), "nope", encoding)) {
          KServeClient.Answer a = missing.infer(x);
          assertThat(a.ok()).isFalse();
          assertThat(a.predictedClass()).isEqualTo(-1);
          assertThat(a.error()).startsWith("HTTP 404 ").contains("nope");
        }
      }
    }
  }
}
