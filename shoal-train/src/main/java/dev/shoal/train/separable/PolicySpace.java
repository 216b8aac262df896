package dev.shoal.train.separable;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Every transmission policy of one architecture: per exchange point, off, or on with one of the
 * routings (derangements of the devices: 1 for 2 devices, 2 for 3, 9 for 4), one of the eight
 * fractions and one of {@code codecs}. Draws policies for supernet training and the searches, and
 * mutates them for the evolutionary search.
 */
public final class PolicySpace {

  /** Chance that a supernet batch trains the baseline, keeping the full-exchange path strong. */
  private static final double BASELINE_SHARE = 0.25;

  private final SeparableArchitecture arch;
  private final List<LinkCodec> codecs;
  private final List<int[]> routings;

  public PolicySpace(SeparableArchitecture arch, List<LinkCodec> codecs) {
    if (arch.groups() < 2) {
      throw new IllegalArgumentException("a policy space needs at least 2 groups, got " + arch.groups());
    }
    if (codecs.isEmpty()) {
      throw new IllegalArgumentException("a policy space needs at least one codec");
    }
    this.arch = arch;
    this.codecs = List.copyOf(codecs);
    this.routings = derangements(arch.groups());
  }

  public SeparableArchitecture architecture() {
    return arch;
  }

  public List<LinkCodec> codecs() {
    return codecs;
  }

  /** The routings one exchange point can take. */
  public List<int[]> routings() {
    return routings.stream().map(int[]::clone).toList();
  }

  /**
   * A policy for one supernet batch: a quarter of the time the baseline, otherwise each point on
   * with a probability itself drawn uniformly per batch (so sparse and dense policies are both
   * trained), with a uniform routing, fraction and codec.
   */
  public TransmissionPolicy sampleForTraining(Random random) {
    if (random.nextDouble() < BASELINE_SHARE) {
      return TransmissionPolicy.baseline(arch);
    }
    return sample(random, random.nextDouble());
  }

  /** Each point on with probability {@code density}, its settings uniform. */
  public TransmissionPolicy sample(Random random, double density) {
    List<ExchangePoint> points = new ArrayList<>();
    for (int i = 0; i < arch.exchangePoints(); i++) {
      points.add(random.nextDouble() < density ? randomPoint(random) : ExchangePoint.NONE);
    }
    return new TransmissionPolicy(arch.groups(), points);
  }

  /** Uniform over every policy of the space: each point on or off with even odds. */
  public TransmissionPolicy sampleUniform(Random random) {
    return sample(random, 0.5);
  }

  /**
   * One point of {@code policy} changed: switched off or on, or (when on) one of its routing,
   * fraction (one step up or down) or codec redrawn.
   */
  public TransmissionPolicy mutate(TransmissionPolicy policy, Random random) {
    List<ExchangePoint> points = new ArrayList<>(policy.points());
    int i = random.nextInt(points.size());
    ExchangePoint p = points.get(i);
    if (!p.exchange()) {
      points.set(i, randomPoint(random));
    } else {
      switch (random.nextInt(4)) {
        case 0 -> points.set(i, ExchangePoint.NONE);
        case 1 -> points.set(i, ExchangePoint.of(routings.get(random.nextInt(routings.size())), p.eighths(), p.codec()));
        case 2 -> {
          int step = random.nextBoolean() ? 1 : -1;
          int eighths = Math.max(1, Math.min(ExchangePoint.FRACTION_STEPS, p.eighths() + step));
          points.set(i, ExchangePoint.of(p.sendTo(), eighths, p.codec()));
        }
        default -> points.set(i, p.withCodec(codecs.get(random.nextInt(codecs.size()))));
      }
    }
    return new TransmissionPolicy(policy.groups(), points);
  }

  /** Each point taken from one parent or the other, with even odds. */
  public TransmissionPolicy crossover(TransmissionPolicy a, TransmissionPolicy b, Random random) {
    List<ExchangePoint> points = new ArrayList<>();
    for (int i = 0; i < a.points().size(); i++) {
      points.add(random.nextBoolean() ? a.points().get(i) : b.points().get(i));
    }
    return new TransmissionPolicy(a.groups(), points);
  }

  private ExchangePoint randomPoint(Random random) {
    return ExchangePoint.of(
        routings.get(random.nextInt(routings.size())),
        1 + random.nextInt(ExchangePoint.FRACTION_STEPS),
        codecs.get(random.nextInt(codecs.size())));
  }

  static List<int[]> derangements(int n) {
    List<int[]> out = new ArrayList<>();
    permute(new int[n], new boolean[n], 0, out);
    return out;
  }

  private static void permute(int[] p, boolean[] used, int at, List<int[]> out) {
    if (at == p.length) {
      out.add(p.clone());
      return;
    }
    for (int v = 0; v < p.length; v++) {
      if (!used[v] && v != at) {
        used[v] = true;
        p[at] = v;
        permute(p, used, at + 1, out);
        used[v] = false;
      }
    }
  }
}
