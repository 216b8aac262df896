package dev.shoal.cli;

import dev.shoal.model.cost.CostModel;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.Instance;
import dev.shoal.plan.InstanceJson;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.PlanReport;
import dev.shoal.plan.cluster.ClusterYaml;
import dev.shoal.plan.cluster.InstanceBuilder;
import dev.shoal.plan.solve.Solvers;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal plan}: partition a model into pipeline stages and place them on a cluster's devices. */
@Command(
    name = "plan",
    mixinStandardHelpOptions = true,
    description = {
      "Partition a model into pipeline stages and place them on devices, minimising the bottleneck",
      "(slowest stage compute or transfer), then the end-to-end latency (DESIGN.md cost model).",
      "Give a planner instance (--instance) or a model and a cluster (--model or --zoo, --cluster).",
      "Exit status 1 with a one-line reason when no valid plan exists (memory, links)."
    })
public final class PlanCommand implements Callable<Integer> {

  enum Format { json, table }

  static final class Source {
    @Option(names = "--instance", paramLabel = "FILE.json", required = true,
        description = "a planner instance (DESIGN.md JSON)")
    Path instance;

    @ArgGroup(exclusive = false, multiplicity = "1")
    ModelAndCluster model;
  }

  static final class ModelAndCluster {
    @Option(names = "--model", paramLabel = "M.onnx", description = "the ONNX model")
    Path model;

    @Option(names = "--zoo", paramLabel = "NAME",
        description = "a zoo model instead of --model: mobilenetv2, resnet50, densenet121, inception (224x224)")
    String zoo;

    @Option(names = "--cluster", paramLabel = "C.yaml", required = true, description = "the cluster spec (YAML)")
    Path cluster;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  @Option(names = "--solver", defaultValue = "exact",
      description = "exact, heuristic, greedy or random (default: ${DEFAULT-VALUE})")
  String solver;

  @Option(names = "--seed", defaultValue = "1", description = "seed of the random solver (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--format", description = "json or table (default: json with --instance, table with --model)")
  Format format;

  @Option(names = "--svg", paramLabel = "FILE.svg",
      description = "write a picture of the plan (default with --model: plan.svg)")
  Path svg;

  @Option(names = "--emit-instance", paramLabel = "FILE.json",
      description = "with --model: also write the planner instance built from the model and cluster")
  Path emitInstance;

  @Option(names = "--compression", defaultValue = "1.0",
      description = "divide transferred bytes (cuts, input) by this factor, e.g. 1.44 (default: ${DEFAULT-VALUE})")
  double compression;

  @Option(names = "--allow-unknown-ops", description = "count ops without a cost rule as 0 MACs instead of failing")
  boolean allowUnknownOps;

  @Override
  public Integer call() throws Exception {
    PipelineSolver chosen = Solvers.byName(solver, seed);
    Instance instance;
    boolean fromModel = source.model != null;
    if (fromModel) {
      ModelGraph graph = graph(source.model);
      ModelProfile profile =
          ModelProfile.of(graph, allowUnknownOps ? CostModel.UnknownOps.COUNT_ZERO : CostModel.UnknownOps.REJECT);
      instance = InstanceBuilder.build(profile, ClusterYaml.read(source.model.cluster), compression);
      if (emitInstance != null) {
        InstanceJson.write(instance, emitInstance);
        System.err.println("plan: instance written to " + emitInstance);
      }
    } else {
      if (emitInstance != null) {
        throw new IllegalArgumentException("--emit-instance needs --model and --cluster");
      }
      instance = InstanceJson.read(source.instance);
    }
    PipelineCost cost = new PipelineCost(instance);
    System.err.println(
        "plan: " + chosen.name() + " on " + instance.layers().size() + " layers x " + instance.devices().size()
            + " devices ...");
    PipelinePlan plan;
    try {
      plan = chosen.solve(instance);
    } catch (InfeasibleInstanceException e) {
      throw new InfeasibleInstanceException("no valid plan (" + chosen.name() + "): " + e.getMessage());
    }
    PlanReport report = new PlanReport(cost, plan, chosen.name());
    Format shown = format != null ? format : fromModel ? Format.table : Format.json;
    System.out.print(shown == Format.json ? InstanceJson.toJson(plan) + "\n" : report.table());
    Path picture = svg != null ? svg : fromModel ? Path.of("plan.svg") : null;
    if (picture != null) {
      report.writeSvg(picture);
      System.err.println("plan: picture written to " + picture);
    }
    return 0;
  }

  private static ModelGraph graph(ModelAndCluster given) {
    if ((given.model == null) == (given.zoo == null)) {
      throw new IllegalArgumentException("give exactly one of --model FILE.onnx or --zoo NAME with --cluster");
    }
    if (given.zoo != null) {
      System.err.println("plan: building zoo model " + given.zoo + " (224x224, random weights) and profiling it ...");
      return ModelGraph.of(ModelZoo.benchmarkModel(given.zoo), "zoo " + given.zoo);
    }
    System.err.println("plan: profiling " + given.model + " ...");
    return ModelGraph.load(given.model);
  }
}
