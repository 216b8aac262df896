package dev.shoal.plan.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.DType;
import dev.shoal.model.TensorSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlanTest {
  private static final String SHA = "0".repeat(64);
  private static final TensorSpec X = new TensorSpec("x", DType.FLOAT, new long[] {-1, 4});
  private static final TensorSpec Y = new TensorSpec("y", DType.FLOAT, new long[] {-1, 4});

  private static Stage stage(String id, boolean optional, List<String> in, List<String> out, String... devices) {
    return new Stage(id, new StageModel(id + ".onnx", SHA), List.of(devices), optional, in, out, null, 0, 0, "");
  }

  private static Edge edge(String from, String ft, String to, String tt) {
    return new Edge(new Port(from, ft), new Port(to, tt), "raw");
  }

  /** a -> {b, c} -> d: a diamond with a join (d takes two inputs). */
  private static Plan diamond(List<Edge> extra) {
    List<Edge> edges = new ArrayList<>(List.of(edge(Plan.REQUEST, "x", "a", "x"), edge("a", "h", "b", "h"),
        edge("a", "h", "c", "h"), edge("b", "u", "d", "u"), edge("c", "v", "d", "v"), edge("d", "y", Plan.RESPONSE, "y")));
    edges.addAll(extra);
    return new Plan("m", "diamond", List.of(X), List.of(Y),
        List.of(stage("a", false, List.of("x"), List.of("h"), "w0"), stage("b", false, List.of("h"), List.of("u"), "w1"),
            stage("c", false, List.of("h"), List.of("v"), "w2", "w3"),
            stage("d", false, List.of("u", "v"), List.of("y"), "w0")),
        edges, List.of(), List.of(), null);
  }

  @Test
  void aDiamondIsValidAndRoundTripsThroughJson() {
    Plan p = diamond(List.of()).validate();
    assertThat(p.topologicalOrder()).containsExactly("a", "b", "c", "d");
    assertThat(p.devices()).containsExactly("w0", "w1", "w2", "w3");
    Plan back = PlanJson.fromJson(PlanJson.toJson(p), "test");
    assertThat(PlanJson.toJson(back)).isEqualTo(PlanJson.toJson(p));
    assertThat(back.predicted().periodSeconds()).isNaN();
    assertThatThrownBy(() -> p.validateDevices(List.of("w0", "w1", "w2")))
        .hasMessage("plan 'diamond', stage 'c': device 'w3' is not in the cluster (it has [w0, w1, w2])");
  }

  @Test
  void badGraphsGetOneClearError() {
    assertThatThrownBy(() -> diamond(List.of(edge("b", "u", "d", "v"))).validate())
        .hasMessageContaining("stage 'd': input 'v' is fed by 2 edges");
    assertThatThrownBy(() -> diamond(List.of(edge("d", "y", "a", "x"))).validate())
        .hasMessageContaining("input 'x' is fed by 2 edges");
    assertThatThrownBy(() -> diamond(List.of(edge("a", "nope", "b", "h"))).validate())
        .hasMessageContaining("stage 'a' has no output 'nope'");
    assertThatThrownBy(() -> diamond(List.of(edge("zz", "h", "b", "h"))).validate())
        .hasMessageContaining("no stage 'zz'");
    Plan cyclic = new Plan("m", "cyc", List.of(X), List.of(Y),
        List.of(stage("a", false, List.of("x", "k"), List.of("h"), "w0"), stage("b", false, List.of("h"), List.of("k", "y"), "w1")),
        List.of(edge(Plan.REQUEST, "x", "a", "x"), edge("a", "h", "b", "h"), edge("b", "k", "a", "k"),
            edge("b", "y", Plan.RESPONSE, "y")), List.of(), List.of(), null);
    assertThatThrownBy(cyclic::validate).hasMessageContaining("form a cycle");
    Plan unfed = new Plan("m", "unfed", List.of(X), List.of(Y), List.of(stage("a", false, List.of("x"), List.of("h"), "w0")),
        List.of(edge(Plan.REQUEST, "x", "a", "x")), List.of(), List.of(), null);
    assertThatThrownBy(unfed::validate).hasMessageContaining("response output 'y' is made 0 times");
    assertThatThrownBy(() -> PlanJson.fromJson("{\"model\":\"m\",\"name\":\"p\",\"stages\":[{\"id\":1}", "p.json"))
        .hasMessageStartingWith("p.json: not a plan");
  }

  @Test
  void aSumMergeOfRequiredStagesRoundTrips() {
    MergeRule rule = new MergeRule.Sum("logits", new long[] {-1, 10});
    Stage d0 = stage("d0s0", false, List.of("x"), List.of("partial_logits"), "w0");
    Stage d1 = stage("d1s0", false, List.of("x"), List.of("partial_logits"), "w1");
    Map<String, String> roles = Map.of("values", "partial_logits");
    Merge sum = new Merge("sum", rule, List.of(new Merge.Member("d0s0", "d0s0", roles, 1, null),
        new Merge.Member("d1s0", "d1s0", roles, 1, null)), 0);
    Plan p = new Plan("separable", "width-parallel", List.of(X), rule.outputs(), List.of(d0, d1),
        List.of(edge(Plan.REQUEST, "x", "d0s0", "x"), edge(Plan.REQUEST, "x", "d1s0", "x")), List.of(), List.of(sum),
        null).validate();
    assertThat(PlanJson.toJson(p)).contains("\"kind\" : \"sum\"");
    assertThat(PlanJson.toJson(PlanJson.fromJson(PlanJson.toJson(p), "t").validate())).isEqualTo(PlanJson.toJson(p));
  }

  @Test
  void optionalStagesFeedOnlyMergesAndMergesTakeWhatTheirRuleNeeds() {
    MergeRule rule = new MergeRule.TopKFusion(3);
    List<TensorSpec> outs = rule.outputs();
    Stage v0 = stage("v0", true, List.of("x"), List.of("ids", "scores"), "w0");
    Stage v1 = stage("v1", true, List.of("x"), List.of("ids", "scores"), "w1");
    List<Edge> in = List.of(edge(Plan.REQUEST, "x", "v0", "x"), edge(Plan.REQUEST, "x", "v1", "x"));
    Map<String, String> roles = Map.of("ids", "ids", "scores", "scores");
    Merge good = new Merge("fuse", rule, List.of(new Merge.Member("v0", "v0", roles, 1, null),
        new Merge.Member("v1", "v1", roles, 0.5, null)), 0);
    Plan ok = new Plan("vp", "variants", List.of(X), outs, List.of(v0, v1), in, List.of(), List.of(good), null).validate();
    assertThat(PlanJson.toJson(ok)).contains("\"kind\" : \"topk-fusion\"");
    assertThat(PlanJson.fromJson(PlanJson.toJson(ok), "t").merges().get(0).rule()).isEqualTo(rule);

    Merge missingRole = new Merge("fuse", rule, List.of(new Merge.Member("v0", "v0", Map.of("ids", "ids"), 1, null)), 0);
    assertThatThrownBy(() -> new Plan("vp", "variants", List.of(X), outs, List.of(v0, v1), in, List.of(),
        List.of(missingRole), null).validate()).hasMessageContaining("member 'v0': takes [ids], the rule needs exactly");

    Stage req = stage("r", false, List.of("ids"), List.of("y2"), "w2");
    List<Edge> bad = new ArrayList<>(in);
    bad.add(edge("v0", "ids", "r", "ids"));
    List<TensorSpec> more = new ArrayList<>(outs);
    more.add(new TensorSpec("y2", DType.FLOAT, new long[] {-1}));
    bad.add(edge("r", "y2", Plan.RESPONSE, "y2"));
    assertThatThrownBy(() -> new Plan("vp", "variants", List.of(X), more, List.of(v0, v1, req), bad, List.of(),
        List.of(good), null).validate()).hasMessageContaining("optional stage 'v0' feeds required stage 'r'");

    MergeRule.ClassConcat cc = new MergeRule.ClassConcat(3);
    Merge gap = new Merge("cat", cc, List.of(new Merge.Member("v0", "v0", Map.of("scores", "scores"), 1, List.of(0, 2))), 0);
    assertThatThrownBy(() -> new Plan("cp", "cp", List.of(X), cc.outputs(), List.of(v0), List.of(in.get(0)),
        List.of(), List.of(gap), null).validate()).hasMessageContaining("classes must cover 0..2 once each, they are [0, 2]");
  }
}
