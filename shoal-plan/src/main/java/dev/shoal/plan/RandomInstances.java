package dev.shoal.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random planner instances in the range the benchmarks and tests explore: layer costs spread over
 * two orders of magnitude, devices 0.5-4x a reference speed, memories that force the model onto
 * two to four devices, symmetric links of 20 Mbit/s - 1 Gbit/s with 0.1-2 ms latency, a random
 * source. Reproducible from the seed.
 */
public final class RandomInstances {

  private RandomInstances() {}

  /** An instance of {@code layers} x {@code devices}; seed fixes everything. */
  public static Instance generate(int layers, int devices, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] speed = new double[devices];
    for (int d = 0; d < devices; d++) {
      speed[d] = 0.5 + 3.5 * random.nextDouble();
    }
    List<Layer> list = new ArrayList<>(layers);
    long totalParams = 0;
    long largestLayer = 0;
    for (int l = 0; l < layers; l++) {
      double reference = 0.0005 * Math.exp(random.nextDouble() * Math.log(100)); // 0.5-50 ms at 1x
      double[] time = new double[devices];
      for (int d = 0; d < devices; d++) {
        time[d] = reference / speed[d];
      }
      long params = (long) (20_000 * Math.exp(random.nextDouble() * Math.log(200))); // 20 KB - 4 MB
      long work = (long) (50_000 * Math.exp(random.nextDouble() * Math.log(40))); // 50 KB - 2 MB
      long cut = (long) (10_000 * Math.exp(random.nextDouble() * Math.log(100))); // 10 KB - 1 MB
      list.add(new Layer("layer" + l, time, params, work, cut));
      totalParams += params;
      largestLayer = Math.max(largestLayer, params + work);
    }
    List<DeviceSpec> specs = new ArrayList<>(devices);
    int stagesForced = Math.max(1, Math.min(devices, 2 + random.nextInt(3)));
    for (int d = 0; d < devices; d++) {
      // each device holds 1.15-1.8 times its share of the model over `stagesForced` devices
      long memory = (long) (totalParams / (double) stagesForced * (1.15 + 0.65 * random.nextDouble()));
      specs.add(new DeviceSpec("dev" + d, Math.max(memory, largestLayer + 2_000_000)));
    }
    double[][] bandwidth = new double[devices][devices];
    double[][] latency = new double[devices][devices];
    for (int a = 0; a < devices; a++) {
      for (int b = a + 1; b < devices; b++) {
        double mbit = 20 * Math.exp(random.nextDouble() * Math.log(50)); // 20 Mbit/s - 1 Gbit/s
        bandwidth[a][b] = bandwidth[b][a] = mbit * 1e6 / 8;
        latency[a][b] = latency[b][a] = 0.0001 + 0.0019 * random.nextDouble();
      }
    }
    return new Instance(list, 602_112, specs, bandwidth, latency, random.nextInt(devices));
  }
}
