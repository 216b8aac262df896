package dev.shoal.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Random instances for property tests, including the awkward cases: missing links, zero compute, no source. */
final class TestInstances {

  private TestInstances() {}

  /** {@link RandomInstances} with, by the seed, some links removed, compute zeroed or the source dropped. */
  static Instance awkward(int layers, int devices, long seed) {
    Instance base = RandomInstances.generate(layers, devices, seed);
    SplittableRandom random = new SplittableRandom(seed * 31 + 7);
    double[][] bandwidth = new double[devices][];
    for (int a = 0; a < devices; a++) {
      bandwidth[a] = base.bandwidth()[a].clone();
    }
    if (random.nextInt(3) == 0) {
      for (int a = 0; a < devices; a++) {
        for (int b = 0; b < devices; b++) {
          if (a != b && random.nextInt(4) == 0) {
            bandwidth[a][b] = 0;
          }
        }
      }
    }
    List<Layer> list = base.layers();
    if (random.nextInt(4) == 0) {
      list = new ArrayList<>();
      for (Layer layer : base.layers()) {
        list.add(new Layer(layer.name(), new double[devices], layer.paramBytes(), layer.workBytes(), layer.cutBytes()));
      }
    }
    Integer source = random.nextInt(3) == 0 ? null : base.source();
    return new Instance(list, base.inputBytes(), base.devices(), bandwidth, base.latency(), source);
  }

  /**
   * Integer-valued costs (times in whole seconds, transfers in whole seconds), so an integer
   * optimiser (CP-SAT) sees exactly the same figures as our double arithmetic.
   */
  static Instance integral(int layers, int devices, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Layer> list = new ArrayList<>();
    long params = 0;
    for (int l = 0; l < layers; l++) {
      double[] time = new double[devices];
      for (int d = 0; d < devices; d++) {
        time[d] = 1 + random.nextInt(9);
      }
      long param = 1 + random.nextInt(20);
      params += param;
      list.add(new Layer("l" + l, time, param, random.nextInt(5), 2000L * random.nextInt(6)));
    }
    List<DeviceSpec> specs = new ArrayList<>();
    for (int d = 0; d < devices; d++) {
      specs.add(new DeviceSpec("d" + d, params / 2 + random.nextInt((int) params)));
    }
    double[][] bandwidth = new double[devices][devices];
    double[][] latency = new double[devices][devices];
    for (int a = 0; a < devices; a++) {
      for (int b = 0; b < devices; b++) {
        if (a != b) {
          bandwidth[a][b] = random.nextInt(6) == 0 ? 0 : 1000 * (1 + random.nextInt(2));
          latency[a][b] = random.nextInt(2);
        }
      }
    }
    return new Instance(list, 4000, specs, bandwidth, latency, random.nextInt(devices));
  }
}
