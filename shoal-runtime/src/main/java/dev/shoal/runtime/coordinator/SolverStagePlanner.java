package dev.shoal.runtime.coordinator;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.plan.DeviceSpec;
import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.cluster.InstanceBuilder;
import dev.shoal.runtime.codec.TensorCodec;
import java.util.ArrayList;
import java.util.List;

/**
 * Plans with the cost model: builds the planner instance for the live workers with {@link
 * InstanceBuilder} (each node's measured time on this host times the device's slowdown; memory,
 * bandwidth and latency from the cluster), asks the solver for the partition and placement, and
 * cuts the model there ({@link PlannedPipeline#cut}).
 */
public final class SolverStagePlanner implements StagePlanner {

  /** A cluster device: its worker, memory, and how many times slower than this host it computes. */
  public record Device(WorkerEndpoint worker, long memoryBytes, double slowdown) {}

  private final ModelProfile profile;
  private final double[] nodeSeconds;
  private final List<Device> devices;
  private final double[][] bandwidth;
  private final double[][] latency;
  private final PipelineSolver solver;
  private final TensorCodec codec;

  /**
   * @param nodeSeconds each node's time for one sample on this host (shoal-model LayerTimer)
   * @param bandwidth bytes/s between devices, in {@code devices} order (0: no link)
   * @param latency seconds between devices, in {@code devices} order
   */
  public SolverStagePlanner(ModelProfile profile, double[] nodeSeconds, List<Device> devices,
      double[][] bandwidth, double[][] latency, PipelineSolver solver, TensorCodec codec) {
    if (nodeSeconds.length != profile.nodes().size()) {
      throw new IllegalArgumentException("need one time per node: " + profile.nodes().size()
          + " nodes, " + nodeSeconds.length + " times");
    }
    this.profile = profile;
    this.nodeSeconds = nodeSeconds.clone();
    this.devices = List.copyOf(devices);
    this.bandwidth = bandwidth;
    this.latency = latency;
    this.solver = solver;
    this.codec = codec;
  }

  /** The planner instance over the given live workers (in cluster order). */
  public Instance instance(List<WorkerEndpoint> alive) {
    List<Device> live = live(alive);
    double[][] time = new double[nodeSeconds.length][live.size()];
    for (int n = 0; n < nodeSeconds.length; n++) {
      for (int d = 0; d < live.size(); d++) {
        time[n][d] = nodeSeconds[n] * live.get(d).slowdown();
      }
    }
    int[] index = new int[live.size()];
    for (int d = 0; d < live.size(); d++) {
      index[d] = devices.indexOf(live.get(d));
    }
    double[][] bw = new double[live.size()][live.size()];
    double[][] lat = new double[live.size()][live.size()];
    for (int a = 0; a < live.size(); a++) {
      for (int b = 0; b < live.size(); b++) {
        bw[a][b] = bandwidth[index[a]][index[b]];
        lat[a][b] = latency[index[a]][index[b]];
      }
    }
    List<DeviceSpec> specs = live.stream().map(d -> new DeviceSpec(d.worker().name(), d.memoryBytes())).toList();
    return InstanceBuilder.of(profile, specs, time, bw, lat, null, 1.0);
  }

  @Override
  public PlannedPipeline plan(List<WorkerEndpoint> alive) {
    List<WorkerEndpoint> live = live(alive).stream().map(Device::worker).toList();
    return PlannedPipeline.cut(profile, solver.solve(instance(alive)), live, codec, nodeSeconds);
  }

  private List<Device> live(List<WorkerEndpoint> alive) {
    List<Device> out = new ArrayList<>();
    for (Device d : devices) {
      if (alive.contains(d.worker())) {
        out.add(d);
      }
    }
    return out;
  }
}
