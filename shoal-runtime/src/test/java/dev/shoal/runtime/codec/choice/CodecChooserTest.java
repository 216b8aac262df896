package dev.shoal.runtime.codec.choice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.model.TensorData;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.runtime.codec.TensorCodec;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The chooser at the ends of its bound on a small zoo CNN: with no drop allowed every cut gets a
 * lossless codec or a lossy one that changed no top-1, and agreement stays 1; with any drop allowed
 * every cut gets its fewest-bytes codec.
 */
class CodecChooserTest {
  private static final ModelProto MODEL = ModelZoo.mobileNetV2(32, 0.35, 10, 5);
  private static final Split SPLIT = ModelSplitter.split(ModelProfile.of(ModelGraph.of(MODEL, "m")),
      ModelSplitter.balancedCuts(ModelProfile.of(ModelGraph.of(MODEL, "m")), 3));
  private static final List<TensorCodec> CODECS =
      List.of(TensorCodec.parse("raw"), TensorCodec.parse("zstd"), TensorCodec.parse("int4+zstd"), TensorCodec.parse("int8c"));

  private static TensorData inputs(int n) {
    Random r = new Random(3);
    float[] v = new float[n * 3 * 32 * 32];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return TensorData.ofFloats("x", new long[] {n, 3, 32, 32}, v);
  }

  @Test
  void noDropAllowedKeepsEveryTop1() {
    CodecPolicy p = CodecChooser.choose(MODEL.toByteArray(), SPLIT, inputs(24), null,
        new CodecChooser.Options(0, 8, CODECS), line -> { });
    assertThat(p.cuts()).hasSize(2);
    for (CodecPolicy.Cut c : p.cuts()) {
      CodecPolicy.Candidate chosen = c.tried().stream().filter(t -> t.codec().equals(c.codec())).findFirst().orElseThrow();
      assertThat(chosen.verdict().equals("lossless") || chosen.agreement() == 1.0).as(c.codec()).isTrue();
      assertThat(c.encodedBytes()).isLessThanOrEqualTo(c.rawBytes());
      assertThat(c.tried()).extracting(CodecPolicy.Candidate::encodedBytes).isSorted();
    }
    assertThat(p.agreement()).isEqualTo(1.0);
    assertThat(p.accuracy()).isNull();
    assertThat(p.toJson()).contains("\"accuracy\" : null").contains("\"after\" : " + p.cuts().get(0).after());
  }

  @Test
  void anyDropAllowedTakesTheFewestBytes() {
    CodecPolicy p = CodecChooser.choose(MODEL.toByteArray(), SPLIT, inputs(24), null,
        new CodecChooser.Options(1, 8, CODECS), line -> { });
    for (CodecPolicy.Cut c : p.cuts()) {
      assertThat(c.codec()).isEqualTo(c.tried().get(0).codec());
      assertThat(c.tried().get(0).verdict()).isEqualTo("within bound");
      assertThat(c.tried().subList(1, c.tried().size())).allMatch(t -> t.verdict().equals("not tried"));
    }
  }

  @Test
  void badSettingsAreRefusedWithTheReason() {
    assertThatThrownBy(() -> CodecChooser.Options.of(-0.1)).hasMessageContaining("within [0, 1], got -0.1");
    assertThatThrownBy(() -> CodecChooser.choose(MODEL.toByteArray(), ModelSplitter.split(
        ModelProfile.of(ModelGraph.of(MODEL, "m"))), inputs(2), null, CodecChooser.Options.of(0.01), l -> { }))
        .hasMessageContaining("no cut");
    TensorData wrong = TensorData.ofFloats("x", new long[] {2, 3, 31, 32}, new float[2 * 3 * 31 * 32]);
    assertThatThrownBy(() -> CodecChooser.choose(MODEL.toByteArray(), SPLIT, wrong, null,
        CodecChooser.Options.of(0.01), l -> { })).hasMessageContaining("do not fit model input");
  }
}
