package dev.shoal.train.recipes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.TensorData;
import dev.shoal.model.family.ClassParallelManifest;
import dev.shoal.model.family.VariantFamilyManifest;
import dev.shoal.train.SampleData;
import dev.shoal.train.export.OnnxEvaluator;
import dev.shoal.train.export.OnnxTeacher;
import dev.shoal.train.train.DjlSetup;
import dev.shoal.train.train.Objective.Distillation;
import dev.shoal.train.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The variant-family and class-parallel recipes end to end on the committed sample, one epoch. */
class FamilyRecipesTest {

  @TempDir Path out;

  @BeforeAll
  static void setUp() {
    DjlSetup.configure(1);
  }

  @Test
  void variantFamilyWritesOneTopKModelPerVariantAndAManifest() throws IOException {
    FashionData data = SampleData.load();
    var settings =
        new VariantFamilyRecipe.Settings(
            List.of(new VariantSpec("a", 28, 0.35, 16), new VariantSpec("b", 20, 0.5, 24)),
            2,
            0.5f,
            true,
            Optional.empty(),
            Distillation.NONE);
    TrainingReport report =
        VariantFamilyRecipe.run(data, settings, TrainConfig.standard(2, 5).withBatchSize(50), out, line -> {});

    VariantFamilyManifest m = VariantFamilyManifest.read(out.resolve(VariantFamilyManifest.FILE_NAME));
    assertThat(m.numClasses()).isEqualTo(10);
    assertThat(m.fusion()).isEqualTo(VariantFamilyManifest.FUSION_WEIGHTED_TOPK_SUM);
    assertThat(m.input().name()).isEqualTo("input");
    assertThat(m.input().shape()).containsExactly(-1L, 1L, 28L, 28L);
    assertThat(m.variants()).extracting(VariantFamilyManifest.Variant::name).containsExactly("a", "b");
    VariantFamilyManifest.Variant b = m.variants().get(1);
    assertThat(b.fusionWeight()).isCloseTo(20.0 / 28 * Math.pow(0.5 / 0.35, 1.15), org.assertj.core.data.Offset.offset(1e-6));
    assertThat(b.resolution()).isEqualTo(20);
    assertThat(b.k()).isEqualTo(2);
    // the lower-resolution variant does fewer MACs despite being wider in the head
    assertThat(b.macs()).isLessThan(m.variants().get(0).macs() * 2);
    for (VariantFamilyManifest.Variant v : m.variants()) {
      Path file = out.resolve(v.file());
      assertThat(file).exists();
      Map<String, TensorData> outputs = OnnxEvaluator.run(file, data.test(), 100, 1);
      assertThat(outputs.get(v.classesOutput()).shape()).containsExactly(200, 2);
      assertThat(outputs.get(v.scoresOutput()).shape()).containsExactly(200, 2);
      assertThat(v.params()).isPositive();
      assertThat(v.testAccuracy()).isBetween(0.0, 1.0);
    }
    assertThat(report.testAccuracy()).containsKeys("a", "b", "ensemble-first-2");
    assertThat(TrainingReport.read(out).jointTraining()).isEqualTo(new TrainingReport.JointTraining(0.5f, true));
    assertThat(report.epochs()).hasSize(2);
    // the joint loss falls from the first epoch to the second
    assertThat(report.epochs().get(1).meanLoss()).isLessThan(report.epochs().get(0).meanLoss());
    assertThat(Files.exists(out.resolve(TrainingReport.FILE_NAME))).isTrue();
  }

  /** The committed base, the teacher the variants distil from. */
  private static final Path BASE = Path.of("../models/fashion/base/base.onnx");

  @Test
  void variantsDistilFromATeacherAndSayFromWhich() throws IOException {
    FashionData data = SampleData.load();
    var settings =
        VariantFamilyRecipe.Settings.of(VariantSpec.DEFAULT_FAMILY, 2, 1f, false, Optional.of(BASE), VariantFamilyRecipe.Settings.DEFAULT_DISTILLATION);
    var small = new VariantFamilyRecipe.Settings(
        List.of(new VariantSpec("a", 28, 0.35, 16), new VariantSpec("b", 20, 0.35, 24)),
        settings.k(),
        settings.fusedLossWeight(),
        settings.augmentEachVariant(),
        settings.teacher(),
        settings.distillation());
    VariantFamilyRecipe.run(data, small, TrainConfig.standard(2, 5).withBatchSize(50), out, line -> {});

    TrainingReport report = TrainingReport.read(out);
    assertThat(report.teacher()).isEqualTo(BASE.toString());
    assertThat(report.distillation()).isEqualTo(VariantFamilyRecipe.Settings.DEFAULT_DISTILLATION);
    assertThat(report.epochs().get(1).meanLoss()).isLessThan(report.epochs().get(0).meanLoss());
    assertThat(out.resolve("a.onnx")).exists();
  }

  @Test
  void aTeacherNeedsADistillationWeightAndALogitsModel() {
    assertThatThrownBy(() -> VariantFamilyRecipe.Settings.of(VariantSpec.DEFAULT_FAMILY, 3, 1f, false, Optional.of(BASE), new Distillation(0f, 4f)))
        .hasMessageContaining("distillation weight above 0");
    assertThat(VariantFamilyRecipe.Settings.of(VariantSpec.DEFAULT_FAMILY, 3, 1f, false, Optional.empty(), new Distillation(0.5f, 4f)).distillation())
        .isEqualTo(Distillation.NONE);
    assertThatThrownBy(() -> VariantFamilyRecipe.Settings.of(
            VariantSpec.DEFAULT_FAMILY, 3, 1f, true, Optional.of(BASE), VariantFamilyRecipe.Settings.DEFAULT_DISTILLATION))
        .hasMessageContaining("view the teacher sees");
    assertThatThrownBy(() -> VariantFamilyRecipe.Settings.of(VariantSpec.DEFAULT_FAMILY, 3, -1f, false, Optional.empty(), Distillation.NONE))
        .hasMessageContaining("fused loss weight");
    Path topK = Path.of("../models/fashion/variants/v28h128.onnx");
    assertThatThrownBy(() -> OnnxTeacher.open(topK, 28, 28, 10, 1))
        .hasMessageContaining(topK.toString())
        .hasMessageContaining("output named 'logits'");
    assertThatThrownBy(() -> OnnxTeacher.open(BASE, 28, 28, 5, 1)).hasMessageContaining("5 classes");
  }

  @Test
  void aVariantSpecSaysWhatIsWrongWithIt() {
    assertThat(VariantSpec.parse("v26:26:0.4:144")).isEqualTo(new VariantSpec("v26", 26, 0.4, 144));
    assertThatThrownBy(() -> VariantSpec.parse("v26:26:0.4")).hasMessageContaining("NAME:RESOLUTION:WIDTH:HEAD");
    assertThatThrownBy(() -> VariantSpec.parse("v26:big:0.4:144")).hasMessageContaining("must be integers");
    assertThatThrownBy(() -> VariantSpec.parse("v26:26:1.5:144")).hasMessageContaining("width multiplier must be in (0, 1]");
    assertThatThrownBy(() -> VariantSpec.parse("v26:4:0.4:144")).hasMessageContaining("resolution must be in [8, 256]");
    assertThatThrownBy(() -> VariantSpec.parse("../x:26:0.4:144")).hasMessageContaining("names the ONNX file");
    assertThatThrownBy(() -> VariantSpec.family(List.of(VariantSpec.parse("a:28:0.4:96"), VariantSpec.parse("a:24:0.4:96"))))
        .hasMessageContaining("unique");
    assertThatThrownBy(() -> VariantSpec.family(List.of())).hasMessageContaining("at least one");
  }

  @Test
  void classParallelMembersCoverEveryClassOnce() throws IOException {
    FashionData data = SampleData.load();
    ClassParallelRecipe.run(data, 3, TrainConfig.standard(1, 5).withBatchSize(50), out, line -> {});

    ClassParallelManifest m = ClassParallelManifest.read(out.resolve(ClassParallelManifest.FILE_NAME));
    assertThat(m.members()).hasSize(3);
    List<Integer> all = new ArrayList<>();
    for (ClassParallelManifest.Member member : m.members()) {
      all.addAll(member.classes());
      TensorData logits = OnnxEvaluator.run(out.resolve(member.file()), data.test(), 100, 1).get(member.output());
      assertThat(logits.shape()).containsExactly(200, member.classes().size());
    }
    assertThat(all).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
  }

  @Test
  void splitsClassesIntoNearlyEqualContiguousGroups() {
    assertThat(ClassParallelRecipe.split(10, 4))
        .containsExactly(List.of(0, 1, 2), List.of(3, 4, 5), List.of(6, 7), List.of(8, 9));
  }
}
