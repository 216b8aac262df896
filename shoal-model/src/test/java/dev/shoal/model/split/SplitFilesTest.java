package dev.shoal.model.split;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.cost.NodeCost;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.zoo.ModelZoo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SplitFilesTest {

  @TempDir Path dir;

  private final ModelProfile profile =
      ModelProfile.of(ModelGraph.of(ModelZoo.multiInputOutput(16, 8, 5, 3), "multi"));

  @Test
  void writesStagesAndManifestAndReadsThemBack() throws Exception {
    Split split = ModelSplitter.split(profile, 3, 9);
    Path out = dir.resolve("out");
    split.writeTo(out);
    try (Stream<Path> files = Files.list(out)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("stage-0.onnx", "stage-1.onnx", "stage-2.onnx", "split.json");
    }
    JsonNode json = new ObjectMapper().readTree(out.resolve("split.json").toFile());
    assertThat(json.get("stages")).hasSize(3);
    JsonNode s1 = json.get("stages").get(1);
    assertThat(s1.get("file").asText()).isEqualTo("stage-1.onnx");
    assertThat(s1.get("firstPosition").asInt()).isEqualTo(4);
    assertThat(s1.get("lastPosition").asInt()).isEqualTo(9);
    assertThat(s1.get("macs").asLong()).isEqualTo(profile.macs(4, 9));
    assertThat(json.get("modelInputs").toString()).isEqualTo("[\"image\",\"features\"]");
    assertThat(json.get("modelOutputs").toString()).isEqualTo("[\"logits\",\"embedding\",\"score\"]");
    long stageMacs = 0;
    for (JsonNode s : json.get("stages")) {
      stageMacs += s.get("macs").asLong();
    }
    assertThat(stageMacs).isEqualTo(profile.totalMacs());

    Split back = Split.readFrom(out);
    assertThat(back.stages()).hasSize(3);
    assertThat(back.stages().get(1).model()).isEqualTo(split.stages().get(1).model());
    assertThat(back.stages().get(2).outputs()).containsExactly("logits", "embedding", "score");
    // a stage is the nodes it runs, nothing else
    assertThat(back.stages().get(1).model().getGraph().getNodeCount()).isEqualTo(6);
  }

  @Test
  void cutCodecsTravelInTheManifestAndOlderManifestsHaveNone() throws Exception {
    Path out = dir.resolve("out");
    ModelSplitter.split(profile, 3, 9).writeTo(out);
    assertThat(Split.readFrom(out).cutCodecs()).isEmpty();
    assertThat(Files.readString(out.resolve("split.json"))).doesNotContain("codec");
    ModelSplitter.split(profile, 3, 9).withCutCodecs(java.util.List.of("int8c+zstd", "raw")).writeTo(out);
    JsonNode json = new ObjectMapper().readTree(out.resolve("split.json").toFile());
    assertThat(json.get("stages").get(0).get("codec").asText()).isEqualTo("int8c+zstd");
    assertThat(json.get("stages").get(2).has("codec")).isFalse();
    assertThat(Split.readFrom(out).cutCodecs()).containsExactly("int8c+zstd", "raw");
    assertThatThrownBy(() -> ModelSplitter.split(profile, 3, 9).withCutCodecs(java.util.List.of("raw")))
        .hasMessageContaining("has 2 cuts, got 1");
    String oneMissing = Files.readString(out.resolve("split.json")).replaceAll(",\\s*\"codec\" : \"raw\"", "");
    Files.writeString(out.resolve("split.json"), oneMissing);
    assertThatThrownBy(() -> Split.readFrom(out)).hasMessageContaining("1 of the 2 cuts name a codec");
  }

  @Test
  void rewritingAPreviousSplitReplacesIt() throws Exception {
    Path out = dir.resolve("out");
    ModelSplitter.split(profile, 1, 5, 9).writeTo(out);
    ModelSplitter.split(profile, 7).writeTo(out);
    assertThat(Split.readFrom(out).stages()).hasSize(2);
    assertThat(out.resolve("stage-2.onnx")).doesNotExist();
    try (Stream<Path> siblings = Files.list(dir)) {
      assertThat(siblings).containsExactly(out);
    }
  }

  @Test
  void refusesToReplaceADirectoryThatIsNotASplit() throws Exception {
    Path out = Files.createDirectories(dir.resolve("precious"));
    Files.writeString(out.resolve("notes.txt"), "keep me");
    assertThatThrownBy(() -> ModelSplitter.split(profile, 3).writeTo(out))
        .hasMessageContaining("refusing to replace");
    try (Stream<Path> files = Files.list(out)) {
      assertThat(files).containsExactly(out.resolve("notes.txt"));
    }
  }

  @Test
  void cutsOutOfRangeOrUnorderedAreRejected() {
    int n = profile.nodes().size();
    assertThatThrownBy(() -> ModelSplitter.split(profile, n - 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("cut position " + (n - 1) + " is out of range: the model has " + n
            + " nodes, so cuts go after positions 0.." + (n - 2));
    assertThatThrownBy(() -> ModelSplitter.split(profile, -1)).hasMessageContaining("out of range");
    assertThatThrownBy(() -> ModelSplitter.split(profile, 5, 5)).hasMessageContaining("strictly increasing");
    assertThatThrownBy(() -> ModelSplitter.balancedCuts(profile, n + 1))
        .hasMessageContaining("cannot make");
  }

  @Test
  void balancedCutsMinimiseTheBottleneckThenTheCutBytes() {
    ModelProfile mnv2 = ModelProfile.of(ModelGraph.of(ModelZoo.mobileNetV2(64, 0.5, 10, 1), "m"));
    int n = mnv2.nodes().size();
    for (int k : new int[] {2, 4, 8}) {
      int[] cuts = ModelSplitter.balancedCuts(mnv2, k);
      assertThat(cuts).hasSize(k - 1).isSorted();
      long bottleneck = bottleneck(mnv2, cuts);
      long cutBytes = 0;
      for (int c : cuts) {
        cutBytes += mnv2.nodes().get(c).cutBytes();
      }
      // brute force for k = 2 (stage cost = MACs + MACS_PER_BYTE x bytes sent): no single cut has
      // a smaller bottleneck beyond the tolerance,
      // and none within the tolerance has fewer cut bytes
      if (k == 2) {
        long best = Long.MAX_VALUE;
        for (int c = 0; c < n - 1; c++) {
          best = Math.min(best, bottleneck(mnv2, new int[] {c}));
        }
        assertThat((double) bottleneck).isLessThanOrEqualTo(best * (1 + ModelSplitter.BALANCE_TOLERANCE));
        for (int c = 0; c < n - 1; c++) {
          if (bottleneck(mnv2, new int[] {c}) <= best * (1 + ModelSplitter.BALANCE_TOLERANCE)) {
            assertThat(cutBytes).isLessThanOrEqualTo(mnv2.nodes().get(c).cutBytes());
          }
        }
      }
      assertThat(bottleneck).isLessThan(mnv2.totalMacs());
    }
    // MACs alone: the 2-stage bottleneck is within the tolerance of half the work or one node more
    int[] macsOnly = ModelSplitter.balancedCuts(mnv2, 2, 0);
    long first = mnv2.macs(0, macsOnly[0]);
    long maxNode = mnv2.nodes().stream().mapToLong(NodeCost::macs).max().orElseThrow();
    assertThat((double) Math.max(first, mnv2.totalMacs() - first))
        .isLessThanOrEqualTo((mnv2.totalMacs() / 2.0 + maxNode) * (1 + ModelSplitter.BALANCE_TOLERANCE));
  }

  private static long bottleneck(ModelProfile p, int[] cuts) {
    long worst = 0;
    int first = 0;
    for (int s = 0; s <= cuts.length; s++) {
      int last = s == cuts.length ? p.nodes().size() - 1 : cuts[s];
      long send = last < p.nodes().size() - 1 ? ModelSplitter.MACS_PER_BYTE * p.nodes().get(last).cutBytes() : 0;
      worst = Math.max(worst, p.macs(first, last) + send);
      first = last + 1;
    }
    return worst;
  }

  /** Outputs that are a graph input or an initializer come out of the last stage unchanged. */
  @Test
  void inputsAndConstantsListedAsOutputsPassThrough() {
    GraphBuilder g = new GraphBuilder("pass");
    String x = g.input("x", DType.FLOAT, GraphBuilder.BATCH, 4);
    String table = g.initializer("table", new float[] {1, 2, 3, 4}, 4);
    String y = g.node("Relu", g.node("Neg", x).out()).out();
    g.output(y, DType.FLOAT).output(x, DType.FLOAT)
        .output(table, DType.FLOAT);
    ModelProfile p = ModelProfile.of(ModelGraph.of(g.build(), "pass"));
    Split split = ModelSplitter.split(p, 0);
    assertThat(split.stages().get(0).outputs()).containsExactly("x", "Neg_0_out0");
    try (StageChain chain = StageChain.open(split, OnnxSession.Options.DEFAULT)) {
      var out = chain.run(Map.of("x",
          TensorData.ofFloats("x", new long[] {1, 4}, new float[] {-1, 2, -3, 4})));
      assertThat(out.keySet()).containsExactly(y, "x", "table");
      assertThat(out.get(y).floats()).containsExactly(1, 0, 3, 0);
      assertThat(out.get("x").floats()).containsExactly(-1, 2, -3, 4);
      assertThat(out.get("table").floats()).containsExactly(1, 2, 3, 4);
    }
  }

  @Test
  void everyNodeCostIsPerSample() {
    for (NodeCost c : profile.nodes()) {
      assertThat(c.workBytes()).isGreaterThanOrEqualTo(c.outBytes());
    }
  }
}
