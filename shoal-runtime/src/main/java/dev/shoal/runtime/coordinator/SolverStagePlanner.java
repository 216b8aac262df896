package dev.shoal.runtime.coordinator;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.plan.DeviceSpec;
import dev.shoal.plan.Instance;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.cluster.InstanceBuilder;
import dev.shoal.runtime.codec.TensorCodec;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

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
  /** The instance over every device; a plan solves it restricted to the live ones. */
  private final Instance whole;
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
    double[][] time = new double[nodeSeconds.length][devices.size()];
    for (int n = 0; n < nodeSeconds.length; n++) {
      for (int d = 0; d < devices.size(); d++) {
        time[n][d] = nodeSeconds[n] * devices.get(d).slowdown();
      }
    }
    List<DeviceSpec> specs = devices.stream().map(d -> new DeviceSpec(d.worker().name(), d.memoryBytes())).toList();
    this.whole = InstanceBuilder.of(profile, specs, time, bandwidth, latency, null, 1.0);
    this.solver = solver;
    this.codec = codec;
  }

  /** The planner instance over the given live workers (in cluster order). */
  public Instance instance(List<WorkerEndpoint> alive) {
    return whole.onDevices(live(alive));
  }

  @Override
  public PlannedPipeline plan(List<WorkerEndpoint> alive) {
    int[] live = live(alive);
    List<WorkerEndpoint> liveWorkers = Arrays.stream(live).mapToObj(d -> devices.get(d).worker()).toList();
    return PlannedPipeline.cut(profile, solver.solve(whole.onDevices(live)), liveWorkers, codec, nodeSeconds);
  }

  /** Indices of the devices whose workers are alive, in cluster order. */
  private int[] live(List<WorkerEndpoint> alive) {
    return IntStream.range(0, devices.size()).filter(d -> alive.contains(devices.get(d).worker())).toArray();
  }
}
