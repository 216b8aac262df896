package dev.shoal.plan;

import java.util.ArrayList;
import java.util.List;

/**
 * The pinned pipeline cost model of DESIGN.md. Every solver, test and benchmark computes a plan's
 * figures with this one class, so they are comparable to the last bit: a stage's compute is the
 * left-to-right sum of its layers' times, a transfer is {@code bytes / bandwidth + latency} (zero
 * bandwidth means no link), a stage's memory is the sum of its parameter bytes plus its largest
 * working set.
 */
public final class PipelineCost {

  private final Instance instance;
  private final int layerCount;
  private final int deviceCount;

  /** @throws IllegalArgumentException when the instance is malformed (the message says where) */
  public PipelineCost(Instance instance) {
    InstanceValidation.check(instance);
    this.instance = instance;
    this.layerCount = instance.layers().size();
    this.deviceCount = instance.devices().size();
  }

  public Instance instance() {
    return instance;
  }

  public int layerCount() {
    return layerCount;
  }

  public int deviceCount() {
    return deviceCount;
  }

  /** Seconds of layers {@code first..last} on device {@code device}. */
  public double stageCompute(int device, int first, int last) {
    double sum = 0.0;
    for (int l = first; l <= last; l++) {
      sum += instance.layers().get(l).time()[device];
    }
    return sum;
  }

  /** Bytes a stage holding layers {@code first..last} needs: parameters plus the largest working set. */
  public long stageMemory(int first, int last) {
    long params = 0;
    long work = 0;
    for (int l = first; l <= last; l++) {
      Layer layer = instance.layers().get(l);
      params += layer.paramBytes();
      work = Math.max(work, layer.workBytes());
    }
    return params + work;
  }

  /** Seconds to move {@code bytes} from device {@code from} to {@code to}; infinite without a link. */
  public double transfer(long bytes, int from, int to) {
    if (from == to) {
      return 0.0;
    }
    return transferTime(bytes, instance.bandwidth()[from][to], instance.latency()[from][to]);
  }

  /** The one formula for a transfer over a link, shared by every solver's tables. */
  public static double transferTime(long bytes, double bandwidth, double latency) {
    if (bandwidth <= 0.0) {
      return Double.POSITIVE_INFINITY;
    }
    return bytes / bandwidth + latency;
  }

  /** Seconds for the cut after layer {@code last} to travel from {@code from} to {@code to}. */
  public double cutTransfer(int last, int from, int to) {
    return transfer(instance.layers().get(last).cutBytes(), from, to);
  }

  /** Seconds for the input to reach the first stage's device (zero without a source or on it). */
  public double inputTransfer(int firstDevice) {
    Integer source = instance.source();
    if (source == null) {
      return 0.0;
    }
    return transfer(instance.inputBytes(), source, firstDevice);
  }

  /** Every cost term of a plan, in pipeline order, with the plan's bottleneck and latency. */
  public Evaluation evaluate(List<StageAssignment> stages) {
    List<String> problems = problems(stages);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid plan: " + String.join("; ", problems));
    }
    List<Term> terms = new ArrayList<>();
    if (instance.source() != null) {
      terms.add(new Term(Term.Kind.INPUT, -1, inputTransfer(stages.get(0).device())));
    }
    for (int s = 0; s < stages.size(); s++) {
      StageAssignment stage = stages.get(s);
      if (s > 0) {
        StageAssignment previous = stages.get(s - 1);
        terms.add(
            new Term(
                Term.Kind.TRANSFER, s, cutTransfer(previous.last(), previous.device(), stage.device())));
      }
      terms.add(new Term(Term.Kind.COMPUTE, s, stageCompute(stage.device(), stage.first(), stage.last())));
    }
    double bottleneck = 0.0;
    double latency = 0.0;
    Term worst = terms.get(0);
    for (Term term : terms) {
      latency += term.seconds();
      if (term.seconds() > bottleneck) {
        bottleneck = term.seconds();
        worst = term;
      }
    }
    return new Evaluation(terms, bottleneck, latency, worst);
  }

  /** A plan with the figures this cost model computes for its stages. */
  public PipelinePlan plan(List<StageAssignment> stages, long solveMillis) {
    Evaluation evaluation = evaluate(stages);
    return new PipelinePlan(List.copyOf(stages), evaluation.bottleneck(), evaluation.latency(), solveMillis);
  }

  /**
   * Why a plan is not valid: stages must cover every layer once, in order, contiguous, each on its
   * own device within the instance, fitting that device's memory, with finite links. Empty when valid.
   */
  public List<String> problems(List<StageAssignment> stages) {
    List<String> problems = new ArrayList<>();
    if (stages.isEmpty()) {
      problems.add("no stages");
      return problems;
    }
    boolean[] used = new boolean[deviceCount];
    int next = 0;
    for (int s = 0; s < stages.size(); s++) {
      StageAssignment stage = stages.get(s);
      if (stage.device() < 0 || stage.device() >= deviceCount) {
        problems.add("stage " + s + ": device " + stage.device() + " out of range 0.." + (deviceCount - 1));
        continue;
      }
      if (used[stage.device()]) {
        problems.add("stage " + s + ": device " + stage.device() + " already holds a stage");
      }
      used[stage.device()] = true;
      if (stage.first() != next || stage.last() < stage.first() || stage.last() >= layerCount) {
        problems.add(
            "stage " + s + ": layers " + stage.first() + ".." + stage.last() + " (expected to start at " + next + ")");
        return problems;
      }
      next = stage.last() + 1;
      long memory = stageMemory(stage.first(), stage.last());
      long capacity = instance.devices().get(stage.device()).memoryBytes();
      if (memory > capacity) {
        problems.add(
            "stage " + s + ": needs " + memory + " B but device " + stage.device() + " has " + capacity + " B");
      }
      if (s > 0) {
        StageAssignment previous = stages.get(s - 1);
        if (Double.isInfinite(cutTransfer(previous.last(), previous.device(), stage.device()))) {
          problems.add("stage " + s + ": no link from device " + previous.device() + " to " + stage.device());
        }
      } else if (Double.isInfinite(inputTransfer(stage.device()))) {
        problems.add("stage 0: no link from the source to device " + stage.device());
      }
    }
    if (next != layerCount) {
      problems.add("layers " + next + ".." + (layerCount - 1) + " are not placed");
    }
    return problems;
  }

  /** One cost term: the input transfer, a stage's compute, or the transfer into stage {@code stage}. */
  public record Term(Kind kind, int stage, double seconds) {
    public enum Kind {
      INPUT,
      COMPUTE,
      TRANSFER
    }
  }

  /** A plan's terms, its bottleneck (the largest term), its latency (their sum), and the largest term. */
  public record Evaluation(List<Term> terms, double bottleneck, double latency, Term bottleneckTerm) {}
}
