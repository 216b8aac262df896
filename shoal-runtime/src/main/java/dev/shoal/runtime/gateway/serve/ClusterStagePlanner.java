package dev.shoal.runtime.gateway.serve;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.InstanceBuilder;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.PlannedPipeline;
import dev.shoal.runtime.coordinator.StagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Plans a pipeline the way {@code shoal plan --model M --cluster C} does ({@link InstanceBuilder}:
 * speed factors or measured per-device times, the cluster's links), over the devices whose workers
 * are alive: a re-plan after a failure solves the same cluster without the dead devices.
 */
public final class ClusterStagePlanner implements StagePlanner {

  private final ModelProfile profile;
  /** The instance over every device; a plan solves it restricted to the live ones. */
  private final Instance whole;
  private final List<WorkerEndpoint> workers;
  private final PipelineSolver solver;
  private final TensorCodec codec;

  /** @param workers the worker of each cluster device, in cluster order ({@link ClusterServing#workers}) */
  public ClusterStagePlanner(ModelProfile profile, Cluster cluster, List<WorkerEndpoint> workers,
      PipelineSolver solver, TensorCodec codec) {
    if (workers.size() != cluster.devices().size()) {
      throw new IllegalArgumentException(cluster.devices().size() + " devices but " + workers.size() + " workers");
    }
    this.profile = profile;
    this.whole = InstanceBuilder.build(profile, cluster);
    this.workers = List.copyOf(workers);
    this.solver = solver;
    this.codec = codec;
  }

  @Override
  public PlannedPipeline plan(List<WorkerEndpoint> alive) {
    int[] live = IntStream.range(0, workers.size()).filter(d -> alive.contains(workers.get(d))).toArray();
    List<WorkerEndpoint> liveWorkers = Arrays.stream(live).mapToObj(workers::get).toList();
    // no reference compute: the cluster's speeds are not this host's; a worker's --slowdown
    // scales its own measured run of the stage
    return PlannedPipeline.cut(profile, solver.solve(whole.onDevices(live)), liveWorkers, codec, null);
  }
}
