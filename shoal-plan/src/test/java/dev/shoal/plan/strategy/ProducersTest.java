package dev.shoal.plan.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.graph.MergeRule;
import dev.shoal.plan.graph.Plan;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.PlanJson;
import dev.shoal.plan.graph.Stage;
import dev.shoal.plan.solve.ExactSolver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProducersTest {

  private static ModelProfile profile(byte[] onnx) {
    return ModelProfile.of(ModelGraph.of(OnnxModelIO.parse(onnx, "test"), "test"));
  }

  private static double[][] matrix(int n, double v) {
    double[][] m = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        m[i][j] = i == j ? 0 : v;
      }
    }
    return m;
  }

  @Test
  void aSolvedPipelineIsAChainOfStagesOnDistinctDevicesAndSurvivesJson(@TempDir Path dir) throws Exception {
    byte[] model = TinyModels.dense(32, 6, 1);
    ModelProfile profile = profile(model);
    double[] nodeSeconds = new double[profile.nodes().size()];
    java.util.Arrays.fill(nodeSeconds, 1e-3);
    List<PipelineProducer.EmulatedDevice> devices = List.of(new PipelineProducer.EmulatedDevice("a", 1L << 30, 1),
        new PipelineProducer.EmulatedDevice("b", 1L << 30, 1), new PipelineProducer.EmulatedDevice("c", 1L << 30, 1));
    PipelineProducer producer = PipelineProducer.forEmulated("dense", profile, nodeSeconds, devices,
        matrix(3, 1e9), matrix(3, 1e-4), new ExactSolver(), "lz4", false);
    PlanBundle bundle = producer.plan(List.of("a", "b", "c"));
    Plan plan = bundle.plan();
    assertThat(plan.stages()).hasSizeGreaterThan(1);
    assertThat(plan.stages().stream().map(s -> s.devices().get(0)).distinct().count()).isEqualTo(plan.stages().size());
    assertThat(plan.inputs()).extracting(t -> t.name()).containsExactly("x");
    assertThat(plan.outputs()).extracting(t -> t.name()).containsExactly("y");
    double reference = plan.stages().stream().mapToDouble(Stage::referenceSeconds).sum();
    assertThat(reference).isCloseTo(nodeSeconds.length * 1e-3, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(plan.predicted().periodSeconds()).isPositive();
    assertThat(plan.edges()).anyMatch(e -> e.codec().equals("lz4"));

    Path file = dir.resolve("plan.json");
    bundle.write(file);
    PlanBundle back = PlanBundle.read(file);
    assertThat(PlanJson.toJson(back.plan())).isEqualTo(PlanJson.toJson(plan));
    for (Stage s : plan.stages()) {
      assertThat(back.model(s)).isEqualTo(bundle.model(s));
    }

    // without device b, the plan avoids it
    assertThat(producer.plan(List.of("a", "c")).plan().devices()).doesNotContain("b");

    // a tampered stage file is refused by name
    Files.write(dir.resolve(plan.stages().get(0).model().file()), new byte[] {1, 2, 3});
    assertThatThrownBy(() -> PlanBundle.read(file)).hasMessageContaining("stage 's0'").hasMessageContaining("SHA-256");
  }

  @Test
  void replicationPutsTheBottleneckStageOnSpareDevices() {
    byte[] model = TinyModels.dense(32, 2, 2);
    ModelProfile profile = profile(model);
    double[] nodeSeconds = new double[profile.nodes().size()];
    java.util.Arrays.fill(nodeSeconds, 1e-3);
    // links so slow that cutting never pays: one stage, and the spare device replicates it
    List<PipelineProducer.EmulatedDevice> devices = List.of(new PipelineProducer.EmulatedDevice("a", 1L << 30, 1),
        new PipelineProducer.EmulatedDevice("b", 1L << 30, 1));
    PipelineProducer replicated = PipelineProducer.forEmulated("dense", profile, nodeSeconds, devices,
        matrix(2, 1.0), matrix(2, 0), new ExactSolver(), "raw", true);
    Plan plan = replicated.plan(List.of("a", "b")).plan();
    assertThat(plan.name()).isEqualTo("replicated");
    assertThat(plan.stages()).hasSize(1);
    assertThat(plan.stages().get(0).devices()).containsExactlyInAnyOrder("a", "b");
    assertThat(plan.predicted().periodSeconds()).isCloseTo(nodeSeconds.length * 1e-3 / 2, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void ensembleMembersArePlacedByCostNotByIndex() {
    // member "big" costs 3, "small" 1 each; device speeds: d0 slow (x4), d1 and d2 fast
    List<EnsembleProducer.Member> members = List.of(
        new EnsembleProducer.Member("small", TinyModels.topK(6, 2, 1), Map.of("ids", "ids", "scores", "scores"), 1, List.of()),
        new EnsembleProducer.Member("big", TinyModels.topK(6, 2, 2), Map.of("ids", "ids", "scores", "scores"), 0.5, List.of()));
    double[][] seconds = {{4, 1, 1}, {12, 3, 3}};
    EnsembleProducer p = new EnsembleProducer("vp", "variants", new MergeRule.TopKFusion(6), 0, members,
        List.of("d0", "d1", "d2"), seconds, new long[] {1, 1}, new long[] {10, 10, 10});
    Plan plan = p.plan(List.of("d0", "d1", "d2")).plan();
    assertThat(plan.stage("big").orElseThrow().devices()).containsExactly("d1");
    assertThat(plan.stage("small").orElseThrow().devices()).containsExactly("d2");
    assertThat(plan.stages()).allMatch(Stage::optional);
    assertThat(plan.predicted().periodSeconds()).isEqualTo(3);
    assertThat(plan.merges()).hasSize(1);
    // with d2 gone both fit only by sharing d1 (4 s) or using d0 for small (4 s): 4 s either way
    assertThat(p.plan(List.of("d0", "d1")).plan().predicted().periodSeconds()).isEqualTo(4);
    // memory: d1 can hold only one member
    EnsembleProducer tight = new EnsembleProducer("vp", "variants", new MergeRule.TopKFusion(6), 0, members,
        List.of("d0", "d1"), new double[][] {{4, 1}, {12, 3}}, new long[] {6, 6}, new long[] {6, 6});
    Plan tightPlan = tight.plan(List.of("d0", "d1")).plan();
    assertThat(tightPlan.stage("big").orElseThrow().devices()).containsExactly("d1");
    assertThat(tightPlan.stage("small").orElseThrow().devices()).containsExactly("d0");
    assertThatThrownBy(() -> tight.plan(List.of("d1"))).isInstanceOf(InfeasibleInstanceException.class);
  }

  @Test
  void exactPlacementMatchesBruteForceOnRandomInstances() {
    java.util.Random r = new java.util.Random(7);
    for (int trial = 0; trial < 200; trial++) {
      int m = 1 + r.nextInt(5);
      int d = 1 + r.nextInt(4);
      double[][] s = new double[m][d];
      long[] mem = new long[m];
      long[] cap = new long[d];
      for (int i = 0; i < m; i++) {
        mem[i] = 1 + r.nextInt(4);
        for (int j = 0; j < d; j++) {
          s[i][j] = 1 + r.nextInt(9);
        }
      }
      for (int j = 0; j < d; j++) {
        cap[j] = 2 + r.nextInt(8);
      }
      double brute = brute(s, mem, cap, new int[m], 0);
      if (Double.isInfinite(brute)) {
        assertThatThrownBy(() -> MemberPlacement.place(s, mem, cap)).isInstanceOf(InfeasibleInstanceException.class);
      } else {
        assertThat(MemberPlacement.place(s, mem, cap).seconds()).as("trial %d", trial).isEqualTo(brute);
      }
    }
  }

  private static double brute(double[][] s, long[] mem, long[] cap, int[] at, int k) {
    if (k == s.length) {
      double[] load = new double[cap.length];
      long[] used = new long[cap.length];
      for (int i = 0; i < s.length; i++) {
        load[at[i]] += s[i][at[i]];
        used[at[i]] += mem[i];
      }
      for (int j = 0; j < cap.length; j++) {
        if (used[j] > cap[j]) {
          return Double.POSITIVE_INFINITY;
        }
      }
      return java.util.Arrays.stream(load).max().orElse(0);
    }
    double best = Double.POSITIVE_INFINITY;
    for (int j = 0; j < cap.length; j++) {
      at[k] = j;
      best = Math.min(best, brute(s, mem, cap, at, k + 1));
    }
    return best;
  }

  @Test
  void aFixedPlanMovesTheStagesOfDeadDevicesToSpares() {
    FixedPlacement fixed = FixedPlacement.chain("dense", List.of(TinyModels.dense(8, 1, 1), TinyModels.dense(8, 1, 2)),
        List.of("w0", "w1"), "raw", new double[2]);
    assertThat(fixed.plan(List.of("w0", "w1", "w2")).plan().stages()).extracting(s -> s.devices().get(0))
        .containsExactly("w0", "w1");
    assertThat(fixed.plan(List.of("w0", "w2")).plan().stages()).extracting(s -> s.devices().get(0))
        .containsExactly("w0", "w2");
    assertThat(fixed.plan(List.of("w2")).plan().stages()).extracting(s -> s.devices().get(0))
        .containsExactly("w2", "w2");
  }
}
