package dev.shoal.bench.separable;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.model.TensorData;
import dev.shoal.model.family.ModelInput;
import dev.shoal.model.family.SeparableManifest;
import dev.shoal.plan.graph.Exchange;
import dev.shoal.plan.graph.Plan;
import dev.shoal.plan.strategy.WidthParallelProducer;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.worker.WorkerProcess;
import dev.shoal.train.separable.ExchangePoint;
import dev.shoal.train.separable.LinkCodec;
import dev.shoal.train.separable.SegmentChain;
import dev.shoal.train.separable.SeparableArchitecture;
import dev.shoal.train.separable.SeparableExport;
import dev.shoal.train.separable.SeparableNet;
import dev.shoal.train.separable.SeparableTrainer;
import dev.shoal.train.separable.TransmissionPolicy;
import dev.shoal.train.train.DjlSetup;
import dev.shoal.train.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A separable network (G = 4, random weights and batch-norm statistics) exported for a policy
 * whose exchanges use every link codec, served width-parallel on four real worker processes over
 * mutual TLS: the answers equal {@link SegmentChain}'s — the offline evaluation the accuracy table
 * is measured with — bit for bit, so the runtime's codecs compute exactly what training simulated.
 */
class WidthParallelProcessTest {

  @TempDir Path dir;

  @Test
  void servedLogitsEqualTheChainedSegments() throws Exception {
    DjlSetup.configure(1);
    SeparableArchitecture arch = SeparableArchitecture.fashion(4, 28, 28, 10);
    TransmissionPolicy policy =
        new TransmissionPolicy(
            4,
            List.of(
                ExchangePoint.of(new int[] {1, 0, 3, 2}, 4, LinkCodec.INT8),
                ExchangePoint.NONE,
                ExchangePoint.of(new int[] {2, 3, 1, 0}, 3, LinkCodec.INT4),
                ExchangePoint.of(new int[] {3, 2, 0, 1}, 8, LinkCodec.FP16),
                ExchangePoint.of(new int[] {1, 2, 3, 0}, 1, LinkCodec.FP32)));
    Path export = dir.resolve("export");
    try (SeparableTrainer trainer = new SeparableTrainer(new SeparableNet(arch), TrainConfig.standard(1, 7), 1)) {
      Random r = new Random(3);
      for (var p : trainer.net().getParameters()) {
        var a = p.getValue().getArray();
        float[] v = new float[(int) a.size()];
        boolean positive = p.getKey().endsWith("runningVar") || p.getKey().endsWith("gamma");
        for (int i = 0; i < v.length; i++) {
          v[i] = positive ? 0.5f + r.nextFloat() : (float) r.nextGaussian() * 0.3f;
        }
        a.set(v);
      }
      trainer.net().usePolicy(policy);
      SeparableExport.write(trainer.net(), new ModelInput("input", List.of(-1L, 1L, 28L, 28L), 0.286f, 0.353f, "test"),
          export);
    }
    float[] pixels = new float[3 * 28 * 28];
    Random r = new Random(4);
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = (float) r.nextGaussian();
    }
    TensorData images = TensorData.ofFloats("input", new long[] {3, 1, 28, 28}, pixels);
    float[] expected;
    try (SegmentChain chain = new SegmentChain(export)) {
      expected = chain.logits(images);
    }

    // --policy picks the export among several: the directory above it holds this one only
    Files.writeString(dir.resolve("policy.json"), SeparableManifest.read(export).policy().toString());
    Path found = WidthParallelProducer.findExport(dir, Optional.of(dir.resolve("policy.json")));
    assertThat(found).isEqualTo(export);
    WidthParallelProducer producer = new WidthParallelProducer(found, "separable");

    Path certs = dir.resolve("certs");
    List<String> names = List.of("w0", "w1", "w2", "w3");
    CertificateAuthority.provision(certs, List.of("coordinator"), names);
    List<WorkerProcess> workers = new ArrayList<>();
    try {
      List<WorkerEndpoint> endpoints = new ArrayList<>();
      for (String n : names) {
        WorkerProcess w = WorkerProcess.start(List.of(), n, "127.0.0.1:0", 1.0, certs.resolve(n),
            dir.resolve(n + ".log"));
        workers.add(w);
        endpoints.add(new WorkerEndpoint(n, w.address()));
      }
      try (PlanBackend backend = PlanBackend.start(endpoints, List.of(producer),
          PeerSecurity.mutualTls(NodeCredentials.load(certs.resolve("coordinator"))), PlanBackend.Options.DEFAULT)) {
        Plan plan = backend.plan();
        assertThat(plan.stages()).hasSize(4 * 5);
        assertThat(plan.exchanges()).hasSize(4 * 4);
        assertThat(plan.exchanges().stream().map(Exchange::codec).distinct().sorted().toList())
            .containsExactly("fp16s", "int4s", "int8s", "raw");
        // each network device's stages on its own worker: every exchange joins two workers
        for (Exchange x : plan.exchanges()) {
          assertThat(plan.stage(x.from().node()).orElseThrow().devices())
              .isNotEqualTo(plan.stage(x.to().node()).orElseThrow().devices());
        }
        Map<String, TensorData> out =
            backend.run("separable", Map.of("input", images), Duration.ofSeconds(30)).get();
        assertThat(out.get("logits").shape()).containsExactly(3, 10);
        assertThat(out.get("logits").floats()).containsExactly(expected);
        float[] one = backend.run("separable",
            Map.of("input", TensorData.ofFloats("input", new long[] {1, 1, 28, 28},
                java.util.Arrays.copyOfRange(pixels, 784, 2 * 784))), Duration.ofSeconds(30))
            .get().get("logits").floats();
        assertThat(one).containsExactly(java.util.Arrays.copyOfRange(expected, 10, 20));
      }
    } finally {
      workers.forEach(WorkerProcess::close);
    }
  }
}
