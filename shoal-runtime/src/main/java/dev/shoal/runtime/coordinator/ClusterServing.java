package dev.shoal.runtime.coordinator;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterDevice;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.PlanProducer;
import dev.shoal.plan.strategy.EnsembleProducer;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.plan.strategy.PipelineProducer;
import dev.shoal.plan.strategy.WidthParallelProducer;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.serving.ServingBackend;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What {@code shoal serve} runs on a cluster whose devices name their workers' addresses: every
 * strategy is a plan producer served by one {@link PlanBackend} — a model planned into a pipeline
 * (optionally with replicated stages), a variant family or class-parallel sub-models (members
 * placed by the cost model), or plans written by {@code shoal plan --out}.
 */
public final class ClusterServing {

  /** A started backend and its plan, as lines to print. */
  public record Served(ServingBackend backend, String plan) {}

  private ClusterServing() {}

  /** The worker of each device, in cluster order; every device must give its worker's address. */
  public static List<WorkerEndpoint> workers(Cluster cluster) {
    List<WorkerEndpoint> out = new ArrayList<>();
    for (ClusterDevice d : cluster.devices()) {
      if (d.address() == null) {
        throw new IllegalArgumentException("device '" + d.name() + "' has no 'address' (host:port of its "
            + "`shoal worker`): serving needs one for every device");
      }
      out.add(new WorkerEndpoint(d.name(), d.address()));
    }
    return out;
  }

  /**
   * The pipeline producer of a model on a cluster, planned by the solver the way {@code shoal plan
   * --model M --cluster C} does; served under the model's file name (without {@code .onnx}).
   */
  public static PipelineProducer pipeline(Path modelFile, Cluster cluster, PipelineSolver solver, String codec,
      boolean replicate) {
    ModelGraph graph = ModelGraph.load(modelFile);
    return PipelineProducer.forCluster(modelName(modelFile), ModelProfile.of(graph), cluster, solver, codec, replicate);
  }

  /** Variant parallelism from {@code dir/family.json}; see {@link EnsembleProducer#variants}. */
  public static EnsembleProducer variants(Path dir, Cluster cluster, Duration wait) {
    try {
      return EnsembleProducer.variants(dir, cluster, wait.toMillis());
    } catch (IOException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** Class parallelism from {@code dir/class-parallel.json}; see {@link EnsembleProducer#classParallel}. */
  public static EnsembleProducer classParallel(Path dir, Cluster cluster, Duration wait) {
    try {
      return EnsembleProducer.classParallel(dir, cluster, wait.toMillis());
    } catch (IOException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /**
   * Width parallelism: the separable network exported under {@code dir} (the export whose policy is
   * {@code policy}'s when given; see {@link WidthParallelProducer#findExport}), one part per device,
   * served under the name {@code separable}.
   */
  public static WidthParallelProducer separable(Path dir, Optional<Path> policy) {
    try {
      return new WidthParallelProducer(WidthParallelProducer.findExport(dir, policy), "separable");
    } catch (IOException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** A written plan (and its stage files), its stages moved to spare workers when theirs fail. */
  public static FixedPlacement written(Path planFile) {
    try {
      return new FixedPlacement(PlanBundle.read(planFile));
    } catch (IOException e) {
      throw new IllegalArgumentException(planFile + ": " + e.getMessage(), e);
    }
  }

  /** Deploys the plans on the cluster's workers (the first active) and describes what runs. */
  public static Served serve(List<PlanProducer> plans, Cluster cluster, PeerSecurity security,
      PlanBackend.Options options) {
    List<WorkerEndpoint> workers = workers(cluster);
    PlanBackend backend = PlanBackend.start(workers, plans, security, options);
    StringBuilder text = new StringBuilder();
    for (var info : backend.plans()) {
      text.append(String.format(Locale.ROOT, "plan '%s' of '%s'%s: %s%n", info.plan(), info.model(),
          info.active() ? " (active)" : "", info.summary()));
    }
    text.append(backend.plan().describe());
    return new Served(backend, text.toString());
  }

  /** A model's served name: its file name without {@code .onnx}. */
  public static String modelName(Path modelFile) {
    String n = modelFile.getFileName().toString();
    return n.endsWith(".onnx") ? n.substring(0, n.length() - 5) : n;
  }
}
