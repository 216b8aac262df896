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
}
