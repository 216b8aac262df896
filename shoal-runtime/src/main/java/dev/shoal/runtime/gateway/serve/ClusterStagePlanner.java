package dev.shoal.runtime.gateway.serve;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterDevice;
import dev.shoal.plan.cluster.InstanceBuilder;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.PlannedPipeline;
import dev.shoal.runtime.coordinator.StagePlanner;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import java.util.ArrayList;
import java.util.List;

/**
 * Plans a pipeline the way {@code shoal plan --model M --cluster C} does ({@link InstanceBuilder}:
 * speed factors or measured per-device times, the cluster's links), over the devices whose workers
 * are alive: a re-plan after a failure solves the same cluster without the dead devices.
 */
public final class ClusterStagePlanner implements StagePlanner {

  private final ModelProfile profile;
  private final Cluster cluster;
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
    this.cluster = cluster;
    this.workers = List.copyOf(workers);
    this.solver = solver;
    this.codec = codec;
  }

  @Override
  public PlannedPipeline plan(List<WorkerEndpoint> alive) {
    List<Integer> live = new ArrayList<>();
    for (int d = 0; d < workers.size(); d++) {
      if (alive.contains(workers.get(d))) {
        live.add(d);
      }
    }
    List<WorkerEndpoint> liveWorkers = live.stream().map(workers::get).toList();
    // no reference compute: the cluster's speeds are not this host's; a worker's --slowdown
    // scales its own measured run of the stage
    return PlannedPipeline.cut(profile, solver.solve(InstanceBuilder.build(profile, restrict(cluster, live))),
        liveWorkers, codec, null);
  }

  /** The cluster with only the devices at {@code keep} (in that order); a dropped source becomes none. */
  static Cluster restrict(Cluster cluster, List<Integer> keep) {
    int n = keep.size();
    List<ClusterDevice> devices = new ArrayList<>();
    double[][] bandwidth = new double[n][n];
    double[][] latency = new double[n][n];
    Integer source = null;
    for (int a = 0; a < n; a++) {
      int from = keep.get(a);
      devices.add(cluster.devices().get(from));
      if (cluster.source() != null && cluster.source() == from) {
        source = a;
      }
      for (int b = 0; b < n; b++) {
        bandwidth[a][b] = cluster.bandwidth()[from][keep.get(b)];
        latency[a][b] = cluster.latency()[from][keep.get(b)];
      }
    }
    return new Cluster(List.copyOf(devices), bandwidth, latency, source, cluster.macsPerSecond());
  }
}
