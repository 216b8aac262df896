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
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterYaml;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.strategy.PipelineProducer;
import java.util.List;
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
      "Exit status 1 with a one-line reason when no valid plan exists (memory, links).",
      "With --out, also writes the plan graph (JSON, the stage ONNX files beside it) that",
      "`shoal serve --plan` deploys."
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

  @Option(names = "--out", paramLabel = "PLAN.json",
      description = "with --model/--zoo: write the plan graph here and each stage's ONNX file beside it")
  Path out;

  @Option(names = "--replicate",
      description = "with --out: replicate bottleneck stages on the devices the plan leaves unused (round robin)")
  boolean replicate;

  @Option(names = "--codec", defaultValue = "raw",
      description = "with --out: codec of the links between stages: raw, fp16, int8, lz4 or zstd (default: ${DEFAULT-VALUE})")
  String codec;

  @Option(names = "--allow-unknown-ops", description = "count ops without a cost rule as 0 MACs instead of failing")
  boolean allowUnknownOps;

  @Override
  public Integer call() throws Exception {
    PipelineSolver chosen = Solvers.byName(solver, seed);
    Instance instance;
    boolean fromModel = source.model != null;
    PipelineProducer producer = null;
    if (out != null && !fromModel) {
      throw new IllegalArgumentException("--out needs --model (or --zoo) and --cluster: the plan graph holds the cut model");
    }
    if (fromModel) {
      ModelGraph graph = graph(source.model);
      ModelProfile profile =
          ModelProfile.of(graph, allowUnknownOps ? CostModel.UnknownOps.COUNT_ZERO : CostModel.UnknownOps.REJECT);
      Cluster cluster = ClusterYaml.read(source.model.cluster);
      instance = InstanceBuilder.build(profile, cluster, compression);
      if (out != null) {
        String name = source.model.zoo != null ? source.model.zoo : modelName(source.model.model);
        producer = new PipelineProducer(name, replicate ? "replicated" : "pipeline", profile, instance, chosen, codec,
            null, replicate);
      }
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
    if (producer != null) {
      List<String> devices = instance.devices().stream().map(d -> d.name()).toList();
      PlanBundle bundle = producer.cut(devices, plan);
      bundle.write(out);
      System.err.printf(java.util.Locale.ROOT, "plan: plan graph '%s' (%d stages, %.1f predicted/s) written to %s%n",
          bundle.plan().name(), bundle.plan().stages().size(), bundle.plan().predicted().throughput(), out);
    }
    return 0;
  }

  private static String modelName(Path file) {
    String n = file.getFileName().toString();
    return n.endsWith(".onnx") ? n.substring(0, n.length() - 5) : n;
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
