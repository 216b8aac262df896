package dev.shoal.train.separable;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Searches transmission policies for validation accuracy against bytes per inference, with the
 * supernet's shared weights (no training per candidate).
 *
 * <ul>
 *   <li>{@link #evolution}: steady-state evolution with Pareto selection (NSGA-II's ranking:
 *       non-dominated layers, crowding distance inside a layer; constraint domination puts every
 *       policy over the byte limit behind every one within it). Parents by binary tournament,
 *       a child by uniform crossover plus one or two point mutations, the worst member dropped.
 *   <li>{@link #random}: the same number of evaluations, drawn from the same distribution the
 *       evolution starts from.
 * </ul>
 *
 * The paper trained an LSTM controller with REINFORCE; with a budget of tens to a few hundred
 * evaluations a population keeps the whole front, which a single scalar reward does not.
 */
public final class PolicySearch {

  /** Scores one policy: accuracy on the validation images. */
  @FunctionalInterface
  public interface Evaluator {
    double accuracy(TransmissionPolicy policy);
  }

  /** One evaluated policy; {@code evaluation} counts from 1 in the order the search made them. */
  public record Candidate(TransmissionPolicy policy, long bytes, double accuracy, int evaluation) {
    boolean dominates(Candidate o) {
      return accuracy >= o.accuracy && bytes <= o.bytes && (accuracy > o.accuracy || bytes < o.bytes);
    }
  }

  /** Everything a search evaluated, in order, and its Pareto front (fewest bytes first). */
  public record Result(String method, long maxBytes, List<Candidate> evaluated, List<Candidate> front) {
    /** The most accurate policy within {@code maxBytes}, if any was evaluated. */
    public Optional<Candidate> best() {
      return PolicySearch.best(evaluated, maxBytes);
    }
  }

  private PolicySearch() {}

  public static Result random(
      PolicySpace space, int budget, long seed, long maxBytes, Evaluator evaluator, Consumer<String> log) {
    Random random = new Random(seed);
    Tracker tracker = new Tracker(space, budget, maxBytes, evaluator, "random", log);
    int attempts = 0;
    while (!tracker.done() && attempts++ < budget * 100) {
      tracker.evaluate(initial(space, random));
    }
    return tracker.result();
  }

  public static Result evolution(
      PolicySpace space, int budget, long seed, long maxBytes, Evaluator evaluator, Consumer<String> log) {
    Random random = new Random(seed);
    Tracker tracker = new Tracker(space, budget, maxBytes, evaluator, "evolution", log);
    int size = Math.max(4, Math.min(16, budget / 4));
    List<Candidate> population = new ArrayList<>();
    int attempts = 0;
    while (population.size() < size && !tracker.done() && attempts++ < budget * 100) {
      tracker.evaluate(initial(space, random)).ifPresent(population::add);
    }
    attempts = 0;
    while (!tracker.done() && attempts++ < budget * 100) {
      Map<Candidate, double[]> rank = rank(population, maxBytes);
      TransmissionPolicy child =
          space.crossover(tournament(population, rank, random).policy(), tournament(population, rank, random).policy(), random);
      child = space.mutate(child, random);
      if (random.nextBoolean()) {
        child = space.mutate(child, random);
      }
      Optional<Candidate> c = tracker.evaluate(child);
      if (c.isPresent()) {
        population.add(c.get());
        Map<Candidate, double[]> ranked = rank(population, maxBytes);
        population.remove(population.stream().max(Comparator.comparing(ranked::get, PolicySearch::compareRank)).orElseThrow());
      }
    }
    return tracker.result();
  }

  /** The distribution both searches start from: each point on with a probability drawn per policy. */
  private static TransmissionPolicy initial(PolicySpace space, Random random) {
    return space.sample(random, random.nextDouble());
  }

  private static Candidate tournament(List<Candidate> population, Map<Candidate, double[]> rank, Random random) {
    Candidate a = population.get(random.nextInt(population.size()));
    Candidate b = population.get(random.nextInt(population.size()));
    return compareRank(rank.get(a), rank.get(b)) <= 0 ? a : b;
  }

  /** Lower is better: layer first, then larger crowding distance. */
  private static int compareRank(double[] a, double[] b) {
    int layer = Double.compare(a[0], b[0]);
    return layer != 0 ? layer : Double.compare(b[1], a[1]);
  }

  /**
   * {layer, crowding} for each member: feasible members in non-dominated layers 0, 1, ...; the
   * infeasible after all of them, by their bytes.
   */
  static Map<Candidate, double[]> rank(List<Candidate> members, long maxBytes) {
    Map<Candidate, double[]> rank = new HashMap<>();
    List<Candidate> left = new ArrayList<>(members.stream().filter(c -> c.bytes() <= maxBytes).toList());
    int layer = 0;
    while (!left.isEmpty()) {
      List<Candidate> front = front(left);
      double[] crowding = crowding(front);
      for (int i = 0; i < front.size(); i++) {
        rank.put(front.get(i), new double[] {layer, crowding[i]});
      }
      left.removeAll(front);
      layer++;
    }
    for (Candidate c : members) {
      if (c.bytes() > maxBytes) {
        rank.put(c, new double[] {layer + (double) c.bytes() / Math.max(1, maxBytes), 0});
      }
    }
    return rank;
  }

  /** The non-dominated members, fewest bytes first. */
  public static List<Candidate> front(List<Candidate> candidates) {
    List<Candidate> front = new ArrayList<>();
    for (Candidate c : candidates) {
      if (candidates.stream().noneMatch(o -> o.dominates(c)) && front.stream().noneMatch(f -> f.policy().equals(c.policy()))) {
        front.add(c);
      }
    }
    front.sort(Comparator.comparingLong(Candidate::bytes).thenComparing(Candidate::accuracy, Comparator.reverseOrder()));
    return front;
  }

  private static double[] crowding(List<Candidate> front) {
    int n = front.size();
    double[] d = new double[n];
    if (n <= 2) {
      java.util.Arrays.fill(d, Double.POSITIVE_INFINITY);
      return d;
    }
    double bytesSpan = Math.max(1, front.get(n - 1).bytes() - front.get(0).bytes());
    double accSpan = Math.max(1e-9, Math.abs(front.get(n - 1).accuracy() - front.get(0).accuracy()));
    d[0] = d[n - 1] = Double.POSITIVE_INFINITY;
    for (int i = 1; i < n - 1; i++) {
      d[i] = (front.get(i + 1).bytes() - front.get(i - 1).bytes()) / bytesSpan
          + Math.abs(front.get(i + 1).accuracy() - front.get(i - 1).accuracy()) / accSpan;
    }
    return d;
  }

  static Optional<Candidate> best(List<Candidate> candidates, long maxBytes) {
    return candidates.stream()
        .filter(c -> c.bytes() <= maxBytes)
        .max(Comparator.comparingDouble(Candidate::accuracy).thenComparing(Candidate::bytes, Comparator.reverseOrder()));
  }

  /**
   * The area a front dominates in (bytes / baseline bytes, accuracy) up to the point (1, 0): one
   * number for how good a whole front is; higher is better.
   */
  public static double hypervolume(List<Candidate> front, long baselineBytes) {
    double area = 0;
    List<Candidate> sorted = new ArrayList<>(front(front));
    for (int i = 0; i < sorted.size(); i++) {
      Candidate c = sorted.get(i);
      double x0 = Math.min(1, (double) c.bytes() / baselineBytes);
      double x1 = i + 1 < sorted.size() ? Math.min(1, (double) sorted.get(i + 1).bytes() / baselineBytes) : 1;
      area += Math.max(0, x1 - x0) * c.accuracy();
    }
    return area;
  }

  /** Counts distinct evaluations against the budget and logs progress. */
  private static final class Tracker {
    private final SeparableArchitecture arch;
    private final int budget;
    private final long maxBytes;
    private final Evaluator evaluator;
    private final String method;
    private final Consumer<String> log;
    private final Map<TransmissionPolicy, Candidate> seen = new LinkedHashMap<>();

    Tracker(PolicySpace space, int budget, long maxBytes, Evaluator evaluator, String method, Consumer<String> log) {
      if (budget < 1) {
        throw new IllegalArgumentException("the budget must be >= 1 evaluation, got " + budget);
      }
      this.arch = space.architecture();
      this.budget = budget;
      this.maxBytes = maxBytes;
      this.evaluator = evaluator;
      this.method = method;
      this.log = log;
    }

    boolean done() {
      return seen.size() >= budget;
    }

    /** Evaluates a policy not seen before; empty when it was. */
    Optional<Candidate> evaluate(TransmissionPolicy policy) {
      if (seen.containsKey(policy)) {
        return Optional.empty();
      }
      Candidate c = new Candidate(policy, policy.bytes(arch), evaluator.accuracy(policy), seen.size() + 1);
      seen.put(policy, c);
      Optional<Candidate> best = PolicySearch.best(List.copyOf(seen.values()), maxBytes);
      log.accept(String.format(
          "%s %d/%d: %.4f at %d bytes  [%s]; best within %d bytes: %s", method, c.evaluation(), budget, c.accuracy(),
          c.bytes(), policy.summary(), maxBytes,
          best.map(b -> String.format("%.4f at %d bytes", b.accuracy(), b.bytes())).orElse("none yet")));
      return Optional.of(c);
    }

    Result result() {
      List<Candidate> all = List.copyOf(seen.values());
      return new Result(method, maxBytes, all, front(all));
    }
  }
}
