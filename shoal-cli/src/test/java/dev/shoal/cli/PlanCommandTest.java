package dev.shoal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.cli.ModelCommandsTest.Result;
import dev.shoal.plan.InstanceJson;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.RandomInstances;
import dev.shoal.plan.StageAssignment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code shoal plan} end to end, in process, on real files. */
class PlanCommandTest {

  @TempDir Path dir;

  @Test
  void zooModelOnTheExampleClusterPrintsATableAndDrawsThePlan() throws Exception {
    Path svg = dir.resolve("plan.svg");
    Path instance = dir.resolve("instance.json");
    Result r =
        ModelCommandsTest.shoal(
            "plan", "--zoo", "mobilenetv2", "--cluster", "../examples/cluster-hetero.yaml", "--svg", svg.toString(),
            "--emit-instance", instance.toString());
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out()).contains("solver exact: bottleneck").contains("stage device");
    String picture = Files.readString(svg);
    assertThat(picture).startsWith("<svg").contains("stage 0 on").contains("#d62728"); // the bottleneck in red

    // the emitted instance, solved with --instance, gives the same plan as JSON
    Result json = ModelCommandsTest.shoal("plan", "--instance", instance.toString(), "--format", "json");
    assertThat(json.status()).as(json.err()).isZero();
    JsonNode plan = new ObjectMapper().readTree(json.out());
    List<StageAssignment> stages = new ArrayList<>();
    for (JsonNode stage : plan.get("stages")) {
      stages.add(new StageAssignment(stage.get("device").asInt(), stage.get("first").asInt(), stage.get("last").asInt()));
    }
    PipelineCost cost = new PipelineCost(InstanceJson.read(instance));
    assertThat(plan.get("bottleneck").asDouble()).isEqualTo(cost.evaluate(stages).bottleneck());
    assertThat(r.out()).contains(String.format(java.util.Locale.ROOT, "bottleneck %.6f s", cost.evaluate(stages).bottleneck()));
  }

  @Test
  void outWritesAPlanGraphWithItsStageFilesThatReadsBack() throws Exception {
    Path out = dir.resolve("p").resolve("plan.json");
    Result r = ModelCommandsTest.shoal("plan", "--model", "../models/fashion/base/base.onnx", "--cluster",
        "../examples/cluster-hetero.yaml", "--svg", dir.resolve("p.svg").toString(), "--codec", "lz4", "--out",
        out.toString());
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.err()).contains("plan graph 'pipeline'");
    dev.shoal.plan.graph.PlanBundle bundle = dev.shoal.plan.graph.PlanBundle.read(out);
    assertThat(bundle.plan().model()).isEqualTo("base");
    assertThat(bundle.plan().stages()).isNotEmpty();
    assertThat(bundle.plan().edges()).filteredOn(e -> !e.from().node().equals("request")
        && !e.to().node().equals("response")).allMatch(e -> e.codec().equals("lz4"));
    for (dev.shoal.plan.graph.Stage s : bundle.plan().stages()) {
      assertThat(out.resolveSibling(s.model().file())).exists();
    }
    Result bad = ModelCommandsTest.shoal("plan", "--instance", dir.resolve("none.json").toString(), "--out",
        out.toString());
    assertThat(bad.status()).isNotZero();
  }

  @Test
  void infeasibleClusterIsOneLineAndNonZero() throws Exception {
    Path cluster = dir.resolve("tiny.yaml");
    Files.writeString(
        cluster,
        "defaults: {bandwidth: 100Mbit, latency: 1ms}\n"
            + "devices:\n  - {name: a, memory: 4MiB, speed: 1}\n  - {name: b, memory: 4MiB, speed: 1}\n");
    Result r = ModelCommandsTest.shoal("plan", "--zoo", "resnet50", "--cluster", cluster.toString(), "--svg", dir.resolve("x.svg").toString());
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err().strip().lines().filter(l -> l.startsWith("shoal plan:")).toList())
        .singleElement()
        .asString()
        .contains("no valid plan (exact)")
        .contains("needs")
        .contains("the largest device has 4194304 B");
    assertThat(dir.resolve("x.svg")).doesNotExist();
  }

  @Test
  void everySolverAnswersAnInstanceFileAsJson() throws Exception {
    Path instance = dir.resolve("random.json");
    InstanceJson.write(RandomInstances.generate(20, 4, 5), instance);
    for (String solver : List.of("exact", "heuristic", "greedy", "random")) {
      Result r = ModelCommandsTest.shoal("plan", "--instance", instance.toString(), "--solver", solver, "--seed", "3");
      assertThat(r.status()).as(solver + ": " + r.err()).isZero();
      JsonNode plan = new ObjectMapper().readTree(r.out());
      assertThat(plan.get("stages").size()).isPositive();
      assertThat(plan.get("bottleneck").asDouble()).isPositive();
      assertThat(plan.has("latency") && plan.has("solveMillis")).isTrue();
    }
  }

  @Test
  void badClusterSaysWhereInOneLine() throws Exception {
    Path cluster = dir.resolve("bad.yaml");
    Files.writeString(cluster, "devices:\n  - {name: a, memory: lots, speed: 1}\n");
    Result r = ModelCommandsTest.shoal("plan", "--zoo", "mobilenetv2", "--cluster", cluster.toString());
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err()).contains("devices[0] (a).memory: 'lots' is not a size");
  }
}
