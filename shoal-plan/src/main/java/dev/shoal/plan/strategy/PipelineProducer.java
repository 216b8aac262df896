package dev.shoal.plan.strategy;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.plan.DeviceSpec;
import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.PipelinePlan;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.InstanceBuilder;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.PlanProducer;
import dev.shoal.plan.graph.Predicted;
import dev.shoal.plan.replicate.ReplicatedPlan;
import dev.shoal.plan.replicate.Replicator;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Pipeline model parallelism: the solver partitions the model and places the stages over the live
 * devices (the pinned cost model), the model is cut there ({@link ModelSplitter}), and the chain
 * becomes a plan. With {@code replicate}, bottleneck stages are then replicated on the devices the
 * plan leaves unused ({@link Replicator}); requests are dealt to a stage's replicas round robin.
 */
public final class PipelineProducer implements PlanProducer {

  private final String model;
  private final String planName;
  private final ModelProfile profile;
  private final Instance whole;
  private final PipelineSolver solver;
  private final String codec;
  private final double[] nodeSeconds;
  private final boolean replicate;

  /**
   * @param whole the planner instance over every device (a plan solves it restricted to the live ones)
   * @param nodeSeconds each node's compute on the reference host, giving each stage's reference
   *     seconds; null when the instance's times are not this host's
   */
  public PipelineProducer(String model, String planName, ModelProfile profile, Instance whole, PipelineSolver solver,
      String codec, double[] nodeSeconds, boolean replicate) {
    if (nodeSeconds != null && nodeSeconds.length != profile.nodes().size()) {
      throw new IllegalArgumentException("need one time per node: " + profile.nodes().size() + " nodes, "
          + nodeSeconds.length + " times");
    }
    this.model = model;
    this.planName = planName;
    this.profile = profile;
    this.whole = whole;
    this.solver = solver;
    this.codec = codec;
    this.nodeSeconds = nodeSeconds == null ? null : nodeSeconds.clone();
    this.replicate = replicate;
  }

  /** Plans the way {@code shoal plan --model M --cluster C} does (the cluster's speeds and links). */
  public static PipelineProducer forCluster(String model, ModelProfile profile, Cluster cluster, PipelineSolver solver,
      String codec, boolean replicate) {
    return new PipelineProducer(model, replicate ? "replicated" : "pipeline", profile,
        InstanceBuilder.build(profile, cluster), solver, codec, null, replicate);
  }

  /** An emulated device: its name, memory, and how many times slower than this host it computes. */
  public record EmulatedDevice(String name, long memoryBytes, double slowdown) {}

  /**
   * Plans for devices emulated on this host: each node's measured time here times the device's
   * slowdown; the stages carry their reference compute, which the workers scale.
   */
  public static PipelineProducer forEmulated(String model, ModelProfile profile, double[] nodeSeconds,
      List<EmulatedDevice> devices, double[][] bandwidth, double[][] latency, PipelineSolver solver, String codec,
      boolean replicate) {
    double[][] time = new double[nodeSeconds.length][devices.size()];
    for (int n = 0; n < nodeSeconds.length; n++) {
      for (int d = 0; d < devices.size(); d++) {
        time[n][d] = nodeSeconds[n] * devices.get(d).slowdown();
      }
    }
    List<DeviceSpec> specs = devices.stream().map(d -> new DeviceSpec(d.name(), d.memoryBytes())).toList();
    Instance whole = InstanceBuilder.of(profile, specs, time, bandwidth, latency, null, 1.0);
    return new PipelineProducer(model, replicate ? "replicated" : "pipeline", profile, whole, solver, codec,
        nodeSeconds, replicate);
  }

  @Override
  public String name() {
    return planName;
  }

  /** The planner instance over the given live devices (in instance order). */
  public Instance instance(List<String> liveDevices) {
    return whole.onDevices(live(liveDevices));
  }

  @Override
  public PlanBundle plan(List<String> liveDevices) {
    return cut(liveDevices, solver.solve(instance(liveDevices)));
  }

  /**
   * The plan graph of a solver's plan for the live devices: replicated if asked, the model cut at
   * the plan's stage boundaries.
   */
  public PlanBundle cut(List<String> liveDevices, PipelinePlan solved) {
    Instance instance = instance(liveDevices);
    PipelineCost cost = new PipelineCost(instance);
    ReplicatedPlan stages = replicate ? Replicator.replicate(cost, solved) : ReplicatedPlan.of(solved);
    Predicted predicted = replicate
        ? new Predicted(stages.period(cost), solved.latency(), "pinned pipeline cost model, " + solver.name()
            + " solver, replicated round robin")
        : new Predicted(solved.bottleneck(), solved.latency(), "pinned pipeline cost model, " + solver.name() + " solver");
    List<ReplicatedPlan.Stage> assigned = stages.stages();
    int[] cuts = new int[assigned.size() - 1];
    for (int i = 0; i < cuts.length; i++) {
      cuts[i] = assigned.get(i).last();
    }
    Split split = ModelSplitter.split(profile, cuts);
    List<Chains.Link> links = new ArrayList<>();
    for (int i = 0; i < assigned.size(); i++) {
      ReplicatedPlan.Stage a = assigned.get(i);
      double reference = 0;
      for (int n = a.first(); nodeSeconds != null && n <= a.last(); n++) {
        reference += nodeSeconds[n];
      }
      List<String> devices = a.devices().stream().map(d -> instance.devices().get(d).name()).toList();
      double predictedSeconds = cost.stageCompute(a.devices().get(0), a.first(), a.last());
      links.add(new Chains.Link(split.stages().get(i).model().toByteArray(), devices, reference, predictedSeconds,
          "nodes " + a.first() + ".." + a.last() + " (" + (a.last() - a.first() + 1) + ")"));
    }
    return Chains.of(model, planName, links, codec, predicted);
  }

  private int[] live(List<String> liveDevices) {
    return IntStream.range(0, whole.devices().size())
        .filter(d -> liveDevices.contains(whole.devices().get(d).name())).toArray();
  }
}
