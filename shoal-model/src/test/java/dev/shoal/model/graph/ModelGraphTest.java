package dev.shoal.model.graph;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.cost.NodeCost;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.StageChain;
import dev.shoal.model.zoo.ModelZoo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ModelGraphTest {

  @Test
  void mobileNetV2At224HasOver150NodesAndTheKnownCost() {
    ModelGraph g = ModelGraph.of(ModelZoo.mobileNetV2(224, 1.0, 1000, 1), "mnv2");
    assertThat(g.nodes()).hasSizeGreaterThanOrEqualTo(150);
    ModelProfile p = ModelProfile.of(g);
    // the paper's MobileNetV2 1.0/224: about 300 M MACs and 3.5 M parameters
    assertThat(p.totalMacs()).isBetween(290_000_000L, 320_000_000L);
    assertThat(p.totalParamBytes() / 4).isBetween(3_400_000L, 3_600_000L);
    assertThat(p.inputBytes()).isEqualTo(3 * 224 * 224 * 4);
  }

  @Test
  void shapesKeepTheBatchSymbolicAndShapeTensorsExact() {
    ModelGraph g = ModelGraph.of(ModelZoo.transformer(1, 8, 32, 4, 64, 10, 1), "t");
    TensorInfo tokens = g.tensor("tokens");
    assertThat(tokens.shape()).containsExactly(-1, 8, 32);
    assertThat(tokens.sampleBytes()).isEqualTo(8 * 32 * 4);
    GraphNode shape = g.nodes().stream().filter(n -> n.opType().equals("Shape")).findFirst().orElseThrow();
    TensorInfo shapeOut = g.tensor(shape.outputs().get(0));
    assertThat(shapeOut.dtype()).isEqualTo(DType.INT64);
    assertThat(shapeOut.shape()).containsExactly(3);
    GraphNode softmax = g.nodes().stream().filter(n -> n.opType().equals("Softmax")).findFirst().orElseThrow();
    assertThat(g.tensor(softmax.outputs().get(0)).shape()).containsExactly(-1, 4, 8, 8);
    assertThat(g.tensor("logits").graphOutput()).isTrue();
  }

  @Test
  void cutBytesCountSkipConnectionsAndEarlyOutputs() {
    ModelGraph g = ModelGraph.of(ModelZoo.multiInputOutput(16, 8, 5, 1), "m");
    ModelProfile p = ModelProfile.of(g);
    int embedding = g.producer("embedding");
    // 'features' feeds the feature Gemm early and the Mul right before the last node
    assertThat(g.consumers("features")).hasSize(2).last().isEqualTo(g.nodes().size() - 2);
    assertThat(g.producer("features")).isEqualTo(-1);
    long featureBytes = 8 * 4;
    for (NodeCost c : p.nodes()) {
      List<String> cut = g.cutTensors(c.position());
      long sum = cut.stream().mapToLong(t -> g.tensor(t).sampleBytes()).sum();
      assertThat(c.cutBytes()).isEqualTo(sum);
      // 'features' is read by the very last node: it crosses every cut before it
      if (c.position() < g.nodes().size() - 2) {
        assertThat(cut).contains("features");
        assertThat(c.cutBytes()).isGreaterThanOrEqualTo(featureBytes);
      }
      // 'embedding' is a model output: once produced it crosses every later cut
      assertThat(cut.contains("embedding")).isEqualTo(c.position() >= embedding);
    }
    assertThat(g.cutTensors(g.nodes().size() - 1)).containsExactlyInAnyOrderElementsOf(g.outputs());
    assertThat(g.cutTensors(-1)).containsExactly("image", "features");
  }

  /** Range's length is the value of its input: zero inputs give it length 0, kept dynamic. */
  @Test
  void valueDependentShapesStayDynamicAcrossCuts() {
    GraphBuilder b = new GraphBuilder("range");
    String limit = b.input("limit", DType.FLOAT);
    String start = b.initializer("start", new float[] {0f});
    String delta = b.initializer("delta", new float[] {1f});
    String r = b.node("Range", start, limit, delta).out();
    b.output(b.node("Relu", r).out(), DType.FLOAT);
    ModelGraph g = ModelGraph.of(b.build(), "range");
    assertThat(g.tensor(r).shape()).containsExactly(-1);
    ModelProfile profile = ModelProfile.of(g);
    var split = ModelSplitter.split(profile, 0);
    try (var chain = StageChain.open(split, OnnxSession.Options.DEFAULT)) {
      var out = chain.run(Map.of("limit",
          TensorData.ofFloats("limit", new long[0], new float[] {5f})));
      assertThat(out.values().iterator().next().floats()).containsExactly(0f, 1f, 2f, 3f, 4f);
    }
  }

  /** File order opens all four branches before closing any; ours finishes each branch first. */
  @Test
  void branchesAreFinishedOneAtATime() {
    GraphBuilder b = new GraphBuilder("branches");
    Random random = new Random(1);
    String x = b.input("x", DType.FLOAT, GraphBuilder.BATCH, 8, 16, 16);
    String[] heads = new String[4];
    List<List<String>> branchNodes = new ArrayList<>();
    for (int br = 0; br < 4; br++) {
      heads[br] = x;
      branchNodes.add(new ArrayList<>());
    }
    for (int depth = 0; depth < 3; depth++) {
      for (int br = 0; br < 4; br++) {
        String w = b.randomWeight("w" + br + depth, random, 0.1f, 8, 8, 1, 1);
        String name = "b" + br + "_" + depth;
        heads[br] = b.node("Conv", heads[br], w).name(name).out();
        branchNodes.get(br).add(name);
      }
    }
    b.output(b.node("Concat", heads).attr("axis", 1L).out(), DType.FLOAT);
    ModelGraph g = ModelGraph.of(b.build(), "branches");
    List<String> order = g.nodes().stream().map(GraphNode::name).toList();
    for (List<String> branch : branchNodes) {
      int first = order.indexOf(branch.get(0));
      assertThat(order.subList(first, first + 3)).as("branch contiguous in %s", order)
          .containsExactlyElementsOf(branch);
    }
    long tensor = 8 * 16 * 16 * 4;
    // at most: the input (while a branch is still to start) plus three branch tensors
    long maxCut = ModelProfile.of(g).nodes().stream().mapToLong(NodeCost::cutBytes).max().orElseThrow();
    assertThat(maxCut).isEqualTo(4 * tensor);
  }

  /**
   * The model fuzzer's ONNX Runtime out-of-memory finding (ModelFuzzTest.editedModels): the first
   * Conv's padding edited to 4000 makes [2, 16, 4003, 4003] activations, gigabytes each, which
   * took minutes of CPU and then the heap. Now refused from ONNX Runtime's static shapes before
   * anything runs, naming the file and the tensor.
   */
  @Test
  void aModelWhoseTensorsExplodeIsRefusedBeforeItRuns() {
    ai.onnx.proto.OnnxMl.ModelProto.Builder m = ModelZoo.multiInputOutput(8, 4, 3, 1).toBuilder();
    ai.onnx.proto.OnnxMl.NodeProto.Builder conv = m.getGraphBuilder().getNodeBuilder(0);
    assertThat(conv.getOpType()).isEqualTo("Conv");
    ai.onnx.proto.OnnxMl.AttributeProto.Builder pads = conv.getAttributeBuilderList().stream()
        .filter(a -> a.getName().equals("pads")).findFirst().orElseThrow();
    for (int k = 0; k < pads.getIntsCount(); k++) {
      pads.setInts(k, 4000);
    }
    long start = System.nanoTime();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ModelGraph.of(m.build(), "fuzzed.onnx"))
        .isInstanceOf(dev.shoal.model.ModelFormatException.class)
        .hasMessageStartingWith("fuzzed.onnx: its tensors would take")
        .hasMessageContaining("'Conv_0_out0' FLOAT[-1, 16, 4003, 4003]")
        .hasMessageNotContaining("\n");
    // refused from the shapes, not after computing them (which took minutes here)
    assertThat(System.nanoTime() - start).isLessThan(java.util.concurrent.TimeUnit.SECONDS.toNanos(60));
  }
}
