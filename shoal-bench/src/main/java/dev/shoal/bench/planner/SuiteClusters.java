package dev.shoal.bench.planner;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.cost.NodeCost;
import dev.shoal.plan.Instance;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterDevice;
import dev.shoal.plan.cluster.DeviceSpeed;
import dev.shoal.plan.cluster.InstanceBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random heterogeneous clusters for real model profiles, in the range of {@code RandomInstances}:
 * speeds 0.5-4x the reference (1 GMAC/s), memories that hold 1/2 to 1/4 of the model's parameters
 * (1.15-1.8x that share) so the model must be split, symmetric links of 20 Mbit/s - 1 Gbit/s with
 * 0.1-2 ms latency, a random source device. Reproducible from the seed.
 */
final class SuiteClusters {

  private SuiteClusters() {}

  static Cluster cluster(ModelProfile profile, int devices, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    long largestNode = 0;
    for (NodeCost node : profile.nodes()) {
      largestNode = Math.max(largestNode, node.paramBytes() + node.workBytes());
    }
    int forced = Math.max(1, Math.min(devices, 2 + random.nextInt(3)));
    List<ClusterDevice> list = new ArrayList<>();
    for (int d = 0; d < devices; d++) {
      double speed = 0.5 + 3.5 * random.nextDouble();
      long memory = (long) (profile.totalParamBytes() / (double) forced * (1.15 + 0.65 * random.nextDouble()));
      list.add(new ClusterDevice("d" + d, null, Math.max(memory, largestNode + 1_000_000), new DeviceSpeed.Relative(speed)));
    }
    double[][] bandwidth = new double[devices][devices];
    double[][] latency = new double[devices][devices];
    for (int a = 0; a < devices; a++) {
      for (int b = a + 1; b < devices; b++) {
        double mbit = 20 * Math.exp(random.nextDouble() * Math.log(50));
        bandwidth[a][b] = bandwidth[b][a] = mbit * 1e6 / 8;
        latency[a][b] = latency[b][a] = 0.0001 + 0.0019 * random.nextDouble();
      }
    }
    return new Cluster(List.copyOf(list), bandwidth, latency, random.nextInt(devices), Cluster.DEFAULT_MACS_PER_SECOND);
  }

  static Instance instance(ModelProfile profile, int devices, long seed) {
    return InstanceBuilder.build(profile, cluster(profile, devices, seed));
  }
}
