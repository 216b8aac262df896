package dev.shoal.plan.strategy;

import dev.shoal.model.TensorSpec;
import dev.shoal.model.cost.CostModel;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.family.ClassParallelManifest;
import dev.shoal.model.family.VariantFamilyManifest;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.PipelineCost;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.InstanceBuilder;
import dev.shoal.plan.graph.Edge;
import dev.shoal.plan.graph.Merge;
import dev.shoal.plan.graph.MergeRule;
import dev.shoal.plan.graph.Plan;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.PlanException;
import dev.shoal.plan.graph.PlanProducer;
import dev.shoal.plan.graph.Port;
import dev.shoal.plan.graph.Predicted;
import dev.shoal.plan.graph.Stage;
import dev.shoal.plan.graph.StageModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A fan-out of one input to N member models, each an optional stage, combined by a merge: variant
 * parallelism (top-k fusion) and class parallelism (class concatenation). Members are placed by
 * {@link MemberPlacement} over the live devices: the slowest device as fast as possible, within
 * memory.
 */
public final class EnsembleProducer implements PlanProducer {

  /** A member model: its name, ONNX bytes, which of its outputs the rule takes, weight and classes. */
  public record Member(String name, byte[] onnx, Map<String, String> tensors, double weight, List<Integer> classes) {}

  private final String model;
  private final String planName;
  private final MergeRule rule;
  private final long waitMillis;
  private final List<Member> members;
  private final List<String> devices;
  /** seconds[m][d] per request of member m on device d (all devices, cluster order). */
  private final double[][] seconds;
  private final long[] memory;
  private final long[] capacity;
  private final TensorSpec input;
  private final List<String> memberInputs = new ArrayList<>();
  private final List<StageModel> stageModels = new ArrayList<>();
  private final Map<String, byte[]> files = new LinkedHashMap<>();

  /**
   * @throws PlanException when the members do not all take one input of the same type and shape
   */
  public EnsembleProducer(String model, String planName, MergeRule rule, long waitMillis, List<Member> members,
      List<String> devices, double[][] seconds, long[] memory, long[] capacity) {
    if (members.isEmpty()) {
      throw new PlanException("an ensemble needs at least one member");
    }
    this.model = model;
    this.planName = planName;
    this.rule = rule;
    this.waitMillis = waitMillis;
    this.members = List.copyOf(members);
    this.devices = List.copyOf(devices);
    this.seconds = seconds;
    this.memory = memory;
    this.capacity = capacity;
    TensorSpec first = null;
    for (Member m : members) {
      StageFiles.Signature sig = StageFiles.signature(m.onnx());
      if (sig.inputs().size() != 1) {
        throw new PlanException("member '" + m.name() + "' must take one input, it takes " + sig.inputs());
      }
      TensorSpec in = sig.inputs().get(0);
      if (first == null) {
        first = in;
      } else if (in.dtype() != first.dtype() || !Arrays.equals(in.shape(), first.shape())) {
        throw new PlanException("member '" + m.name() + "' takes " + in + " but member '" + members.get(0).name()
            + "' takes " + first + ": every member must take the same input");
      }
      for (String t : m.tensors().values()) {
        if (!sig.outputNames().contains(t)) {
          throw new PlanException("member '" + m.name() + "' has no output '" + t + "' (it has " + sig.outputNames() + ")");
        }
      }
      memberInputs.add(in.name());
      stageModels.add(StageFiles.add(files, model + "-" + m.name() + ".onnx", m.onnx()));
    }
    this.input = first;
  }

  /** The cost of every member on every device of a cluster (the pinned model's compute and memory). */
  private record Costs(double[][] seconds, long[] memory, long[] capacity, List<String> devices) {}

  private static Costs costs(List<Member> members, Cluster cluster) {
    double[][] seconds = new double[members.size()][];
    long[] memory = new long[members.size()];
    for (int m = 0; m < members.size(); m++) {
      String where = "member " + members.get(m).name();
      ModelProfile profile = ModelProfile.of(ModelGraph.of(OnnxModelIO.parse(members.get(m).onnx(), where), where),
          CostModel.UnknownOps.COUNT_ZERO);
      PipelineCost cost = new PipelineCost(InstanceBuilder.build(profile, cluster));
      int last = cost.layerCount() - 1;
      seconds[m] = new double[cost.deviceCount()];
      for (int d = 0; d < cost.deviceCount(); d++) {
        double in = cluster.source() == null ? 0 : cost.inputTransfer(d);
        seconds[m][d] = cost.stageCompute(d, 0, last) + in;
      }
      memory[m] = cost.stageMemory(0, last);
    }
    long[] capacity = cluster.devices().stream().mapToLong(d -> d.memoryBytes()).toArray();
    return new Costs(seconds, memory, capacity, cluster.devices().stream().map(d -> d.name()).toList());
  }

  /** Variant parallelism from {@code dir/family.json}, the variants placed over the cluster's devices. */
  public static EnsembleProducer variants(Path dir, Cluster cluster, long waitMillis) throws IOException {
    Path file = dir.resolve(VariantFamilyManifest.FILE_NAME);
    VariantFamilyManifest family = VariantFamilyManifest.read(file);
    if (!VariantFamilyManifest.FUSION_WEIGHTED_TOPK_SUM.equals(family.fusion())) {
      throw new PlanException(file + ": fusion '" + family.fusion() + "' is not supported (only '"
          + VariantFamilyManifest.FUSION_WEIGHTED_TOPK_SUM + "')");
    }
    List<Member> members = new ArrayList<>();
    for (VariantFamilyManifest.Variant v : family.variants()) {
      members.add(new Member(v.name(), readModel(dir, v.file(), file),
          Map.of("ids", v.classesOutput(), "scores", v.scoresOutput()), v.fusionWeight(), List.of()));
    }
    Costs c = costs(members, cluster);
    try {
      return new EnsembleProducer(family.name(), "variants", new MergeRule.TopKFusion(family.numClasses()), waitMillis,
          members, c.devices(), c.seconds(), c.memory(), c.capacity());
    } catch (PlanException e) {
      throw new PlanException(file + ": " + e.getMessage());
    }
  }

  /** Class parallelism from {@code dir/class-parallel.json}, the sub-models placed over the cluster's devices. */
  public static EnsembleProducer classParallel(Path dir, Cluster cluster, long waitMillis) throws IOException {
    Path file = dir.resolve(ClassParallelManifest.FILE_NAME);
    ClassParallelManifest manifest = ClassParallelManifest.read(file);
    List<Member> members = new ArrayList<>();
    for (ClassParallelManifest.Member m : manifest.members()) {
      members.add(new Member(m.name(), readModel(dir, m.file(), file), Map.of("scores", m.output()), 1.0,
          m.classes()));
    }
    Costs c = costs(members, cluster);
    try {
      return new EnsembleProducer(manifest.name(), "class-parallel", new MergeRule.ClassConcat(manifest.numClasses()),
          waitMillis, members, c.devices(), c.seconds(), c.memory(), c.capacity());
    } catch (PlanException e) {
      throw new PlanException(file + ": " + e.getMessage());
    }
  }

  /**
   * Members over devices of equal speed and unbounded memory, each member's time its MACs: the
   * placement spreads them (member i on device i while there are enough devices).
   */
  public static EnsembleProducer onEqualDevices(String model, String planName, MergeRule rule, long waitMillis,
      List<Member> members, List<String> devices) {
    double[][] seconds = new double[members.size()][devices.size()];
    long[] memory = new long[members.size()];
    for (int m = 0; m < members.size(); m++) {
      String where = "member " + members.get(m).name();
      long macs = ModelProfile.of(ModelGraph.of(OnnxModelIO.parse(members.get(m).onnx(), where), where),
          CostModel.UnknownOps.COUNT_ZERO).totalMacs();
      Arrays.fill(seconds[m], Math.max(1, macs) / 1e9);
    }
    long[] capacity = new long[devices.size()];
    Arrays.fill(capacity, Long.MAX_VALUE / 2);
    return new EnsembleProducer(model, planName, rule, waitMillis, members, devices, seconds, memory, capacity);
  }

  @Override
  public String name() {
    return planName;
  }

  @Override
  public PlanBundle plan(List<String> liveDevices) {
    int[] live = java.util.stream.IntStream.range(0, devices.size()).filter(d -> liveDevices.contains(devices.get(d)))
        .toArray();
    if (live.length == 0) {
      throw new InfeasibleInstanceException("no live devices for the " + members.size() + " members");
    }
    double[][] s = new double[members.size()][live.length];
    for (int m = 0; m < members.size(); m++) {
      for (int i = 0; i < live.length; i++) {
        s[m][i] = seconds[m][live[i]];
      }
    }
    long[] cap = Arrays.stream(live).mapToLong(d -> capacity[d]).toArray();
    MemberPlacement.Placement placement = MemberPlacement.place(s, memory, cap);
    List<Stage> stages = new ArrayList<>();
    List<Edge> edges = new ArrayList<>();
    List<Merge.Member> mergeMembers = new ArrayList<>();
    for (int m = 0; m < members.size(); m++) {
      Member member = members.get(m);
      String device = devices.get(live[placement.device()[m]]);
      StageFiles.Signature sig = StageFiles.signature(member.onnx());
      stages.add(new Stage(member.name(), stageModels.get(m), List.of(device), true, sig.inputNames(),
          sig.outputNames(), null, 0, s[m][placement.device()[m]], "member " + member.name()));
      edges.add(new Edge(new Port(Plan.REQUEST, input.name()), new Port(member.name(), memberInputs.get(m)), "raw"));
      mergeMembers.add(new Merge.Member(member.name(), member.name(), member.tensors(), member.weight(),
          member.classes()));
    }
    Merge merge = new Merge("merge", rule, mergeMembers, waitMillis);
    Predicted predicted = new Predicted(placement.seconds(), placement.seconds(), String.format(Locale.ROOT,
        "slowest device's members per request (%s placement)", placement.exact() ? "exact" : "greedy"));
    TensorSpec planInput = new TensorSpec(input.name(), input.dtype(), input.shape());
    Plan plan = new Plan(model, planName, List.of(planInput), rule.outputs(), stages, edges, List.of(),
        List.of(merge), predicted);
    return new PlanBundle(plan, files);
  }

  private static byte[] readModel(Path dir, String file, Path manifest) {
    try {
      return Files.readAllBytes(dir.resolve(file));
    } catch (IOException e) {
      throw new PlanException(manifest + " names " + file + ", which cannot be read: " + e.getMessage());
    }
  }

}
