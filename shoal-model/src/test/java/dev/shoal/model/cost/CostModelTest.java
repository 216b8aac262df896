package dev.shoal.model.cost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.DType;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.graph.ModelGraph;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** MACs against values computed by hand from the layer formulas. */
class CostModelTest {

  private final Random random = new Random(1);

  private long onlyNodeMacs(GraphBuilder g, String out) {
    g.output(out, DType.FLOAT);
    ModelProfile p = ModelProfile.of(ModelGraph.of(g.build(), "test"));
    return p.totalMacs();
  }

  @Test
  void convolution() {
    GraphBuilder g = new GraphBuilder("conv");
    String x = g.input("x", DType.FLOAT, GraphBuilder.BATCH, 3, 8, 8);
    String w = g.randomWeight("w", random, 0.1f, 4, 3, 3, 3);
    String y = g.node("Conv", x, w).ints("pads", 1, 1, 1, 1).out();
    // Cout 4 * Hout 8 * Wout 8 * Cin 3 * 3 * 3
    assertThat(onlyNodeMacs(g, y)).isEqualTo(4 * 8 * 8 * 3 * 3 * 3);
  }

  @Test
  void depthwiseStridedConvolution() {
    GraphBuilder g = new GraphBuilder("dw");
    String x = g.input("x", DType.FLOAT, GraphBuilder.BATCH, 8, 8, 8);
    String w = g.randomWeight("w", random, 0.1f, 8, 1, 3, 3);
    String y = g.node("Conv", x, w).ints("pads", 1, 1, 1, 1).ints("strides", 2, 2)
        .attr("group", 8L).out();
    // Cout 8 * Hout 4 * Wout 4 * (Cin/groups = 1) * 3 * 3
    assertThat(onlyNodeMacs(g, y)).isEqualTo(8 * 4 * 4 * 9);
  }

  @Test
  void groupedConvolution() {
    GraphBuilder g = new GraphBuilder("grouped");
    String x = g.input("x", DType.FLOAT, GraphBuilder.BATCH, 8, 5, 5);
    String w = g.randomWeight("w", random, 0.1f, 4, 4, 1, 1);
    String y = g.node("Conv", x, w).attr("group", 2L).out();
    // Cout 4 * 5 * 5 * (Cin 8 / groups 2)
    assertThat(onlyNodeMacs(g, y)).isEqualTo(4 * 5 * 5 * 4);
  }

  @Test
  void gemmWithTransposedWeight() {
    GraphBuilder g = new GraphBuilder("gemm");
    String x = g.input("x", DType.FLOAT, GraphBuilder.BATCH, 20);
    String w = g.randomWeight("w", random, 0.1f, 30, 20);
    String b = g.randomWeight("b", random, 0.1f, 30);
    String y = g.node("Gemm", x, w, b).attr("transB", 1L).out();
    // per sample: M 1 * N 30 * K 20
    assertThat(onlyNodeMacs(g, y)).isEqualTo(30 * 20);
  }

  @Test
  void batchedMatMul() {
    GraphBuilder g = new GraphBuilder("bmm");
    String a = g.input("a", DType.FLOAT, GraphBuilder.BATCH, 4, 6, 5);
    String b = g.input("b", DType.FLOAT, GraphBuilder.BATCH, 4, 5, 7);
    String y = g.node("MatMul", a, b).out();
    // per sample: 4 heads * M 6 * N 7 * K 5
    assertThat(onlyNodeMacs(g, y)).isEqualTo(4 * 6 * 7 * 5);
  }

  @Test
  void broadcastMatMulAgainstAWeight() {
    GraphBuilder g = new GraphBuilder("mm");
    String a = g.input("a", DType.FLOAT, GraphBuilder.BATCH, 6, 5);
    String w = g.randomWeight("w", random, 0.1f, 5, 7);
    assertThat(onlyNodeMacs(g, g.node("MatMul", a, w).out())).isEqualTo(6 * 7 * 5);
  }

  @Test
  void unknownOpIsRejectedByNameUnlessCountedAsZero() {
    GraphBuilder g = new GraphBuilder("einsum");
    String a = g.input("a", DType.FLOAT, GraphBuilder.BATCH, 3, 4);
    String w = g.randomWeight("w", random, 0.1f, 4, 5);
    String y = g.node("Einsum", a, w).name("mix").attr("equation", "bij,jk->bik").out();
    g.output(y, DType.FLOAT);
    ModelGraph graph = ModelGraph.of(g.build(), "einsum.onnx");
    assertThatThrownBy(() -> ModelProfile.of(graph))
        .isInstanceOf(UnknownOpCostException.class)
        .hasMessageContaining("'Einsum'").hasMessageContaining("'mix'")
        .hasMessageContaining("einsum.onnx").hasMessageNotContaining("\n");
    ModelProfile lenient = ModelProfile.of(graph, CostModel.UnknownOps.COUNT_ZERO);
    assertThat(lenient.totalMacs()).isZero();
    assertThat(lenient.uncountedOps()).containsExactly("Einsum");
  }
}
