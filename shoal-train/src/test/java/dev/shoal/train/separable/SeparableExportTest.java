package dev.shoal.train.separable;

import dev.shoal.model.family.SeparableManifest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.train.SampleData;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.train.Accuracy;
import dev.shoal.train.train.DjlSetup;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A separable network trained a few steps on the committed sample, exported for a policy, then run
 * as the devices would run it: every device's segments chained in ONNX Runtime with the chunks
 * routed between them must give the whole network's logits, and DJL's.
 */
class SeparableExportTest {

  @TempDir Path dir;

  @BeforeAll
  static void setUp() {
    DjlSetup.configure(1);
  }

  @Test
  void chainedSegmentsGiveTheWholeNetworksLogits() throws IOException {
    FashionData data = small();
    SeparableArchitecture arch = SeparableArchitecture.fashion(4, 28, 28, 10);
    var policy =
        new TransmissionPolicy(
            4,
            List.of(
                ExchangePoint.NONE,
                ExchangePoint.of(new int[] {1, 0, 3, 2}, 3, LinkCodec.FP32),
                ExchangePoint.NONE,
                ExchangePoint.of(new int[] {2, 3, 1, 0}, 8, LinkCodec.FP32),
                ExchangePoint.of(new int[] {3, 2, 0, 1}, 1, LinkCodec.FP32)));
    try (SeparableTrainer trainer = trained(arch, data)) {
      trainer.net().usePolicy(policy);
      float[] djl = trainer.logits(data.test());
      SeparableManifest m = SeparableExport.write(trainer.net(), data.modelInput(), dir);

      assertThat(m.segments()).hasSize(4 * 4);
      assertThat(m.exchanges()).hasSize(3 * 4);
      assertThat(m.bytesPerInference()).isEqualTo(policy.bytes(arch));
      assertThat(m.exchanges().stream().mapToLong(SeparableManifest.Exchange::bytesPerSample).sum() + 4 * 10 * 4)
          .isEqualTo(m.bytesPerInference());
      assertThat(TransmissionPolicy.parse(m.policy().toString())).isEqualTo(policy);

      float[] whole = OnnxEvaluator.run(dir.resolve(m.wholeModel()), data.test(), 64, 1).get(OnnxModels.LOGITS).floats();
      float[] chained;
      try (SegmentChain chain = new SegmentChain(dir)) {
        chained = chain.logits(data.test(), 64);
      }
      assertThat(maxDifference(chained, whole)).isLessThanOrEqualTo(1e-4f);
      assertThat(maxDifference(whole, djl)).isLessThanOrEqualTo(1e-4f);
    }
  }

  @Test
  void codecsOnTheLinksAreAppliedAsInTraining() throws IOException {
    FashionData data = small();
    SeparableArchitecture arch = SeparableArchitecture.fashion(2, 28, 28, 10);
    var policy =
        new TransmissionPolicy(
            2,
            List.of(
                ExchangePoint.of(new int[] {1, 0}, 4, LinkCodec.INT8),
                ExchangePoint.NONE,
                ExchangePoint.of(new int[] {1, 0}, 2, LinkCodec.INT4),
                ExchangePoint.of(new int[] {1, 0}, 8, LinkCodec.FP16),
                ExchangePoint.NONE));
    try (SeparableTrainer trainer = trained(arch, data)) {
      trainer.net().usePolicy(policy);
      float[] djl = trainer.logits(data.test());
      trainer.net().usePolicy(policy.withCodec(LinkCodec.FP32));
      float[] exact = trainer.logits(data.test());
      trainer.net().usePolicy(policy);
      SeparableExport.write(trainer.net(), data.modelInput(), dir);
      float[] chained;
      try (SegmentChain chain = new SegmentChain(dir)) {
        chained = chain.logits(data.test(), 64);
      }
      // The codecs change the logits; chained and DJL apply the same ones (a rounding tie may flip).
      assertThat(maxDifference(djl, exact)).isGreaterThan(1e-4f);
      assertThat(agreement(chained, djl)).isGreaterThanOrEqualTo(0.99);
      assertThat(meanDifference(chained, djl)).isLessThan(1e-3);
    }
  }

  @Test
  void aCheckpointedRunResumesWhereItStopped() throws IOException {
    FashionData data = small();
    SeparableArchitecture arch = SeparableArchitecture.fashion(2, 28, 28, 10);
    TrainConfig config = TrainConfig.standard(2, 3).withBatchSize(50).withLearningRate(0.05f);
    PolicySpace space = new PolicySpace(arch, List.of(LinkCodec.values()));
    List<dev.shoal.train.train.TrainingSession.EpochReport> straight;
    float[] straightLogits;
    try (SeparableTrainer t = new SeparableTrainer(new SeparableNet(arch), config, data.train().data().count())) {
      straight = t.fit(data.train(), Optional.of(space::sampleForTraining), dir.resolve("a"), quiet());
      straightLogits = t.logits(data.test());
    }
    class Interrupted extends RuntimeException {}
    try (SeparableTrainer t = new SeparableTrainer(new SeparableNet(arch), config, data.train().data().count())) {
      t.fit(data.train(), Optional.of(space::sampleForTraining), dir.resolve("b"), new TrainingSession.Listener() {
        @Override
        public void epoch(dev.shoal.train.train.TrainingSession.EpochReport r) {
          throw new Interrupted();
        }
      });
    } catch (Interrupted expected) {
      // the process "died" after its first epoch's checkpoint
    }
    assertThat(SeparableTrainer.readCheckpoint(dir.resolve("b")).orElseThrow().epochsDone()).isEqualTo(1);
    try (SeparableTrainer t = new SeparableTrainer(new SeparableNet(arch), config, data.train().data().count())) {
      var resumed = t.fit(data.train(), Optional.of(space::sampleForTraining), dir.resolve("b"), quiet());
      assertThat(resumed).hasSize(2);
      assertThat(resumed.get(1).meanLoss()).isCloseTo(straight.get(1).meanLoss(), org.assertj.core.data.Offset.offset(1e-4));
      assertThat(maxDifference(t.logits(data.test()), straightLogits)).isLessThanOrEqualTo(1e-4f);
    }
    // another recipe must not resume from this checkpoint
    try (SeparableTrainer t = new SeparableTrainer(new SeparableNet(arch), config.withLearningRate(0.01f), 300)) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> t.fit(data.train(), Optional.empty(), dir.resolve("b"), quiet()))
          .hasMessageContaining("another run");
    }
  }

  /** 100 training images (a few steps are enough to move the batch-norm statistics), 200 test. */
  private static FashionData small() throws IOException {
    return FashionData.load(SampleData.dir(), 100, line -> {});
  }

  private static SeparableTrainer trained(SeparableArchitecture arch, FashionData data) {
    TrainConfig config = TrainConfig.standard(1, 7).withBatchSize(50).withLearningRate(0.05f);
    SeparableTrainer trainer = new SeparableTrainer(new SeparableNet(arch), config, data.train().data().count());
    try {
      PolicySpace space = new PolicySpace(arch, List.of(LinkCodec.values()));
      trainer.fit(data.train(), Optional.of(space::sampleForTraining), Files.createTempDirectory("separable-ckpt"), quiet());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return trainer;
  }

  private static TrainingSession.Listener quiet() {
    return r -> {};
  }

  private static float maxDifference(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    float max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }

  private static double meanDifference(float[] a, float[] b) {
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += Math.abs(a[i] - b[i]);
    }
    return sum / a.length;
  }

  private static double agreement(float[] a, float[] b) {
    int rows = a.length / 10;
    int same = 0;
    for (int r = 0; r < rows; r++) {
      if (Accuracy.argmax(a, r, 10) == Accuracy.argmax(b, r, 10)) {
        same++;
      }
    }
    return (double) same / rows;
  }
}
