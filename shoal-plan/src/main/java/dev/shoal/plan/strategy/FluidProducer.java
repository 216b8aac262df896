package dev.shoal.plan.strategy;

import dev.shoal.model.DType;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.family.FluidManifest;
import dev.shoal.plan.InfeasibleInstanceException;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * A Fluid network ({@code fluid.json}) served in one of its modes; group k runs on the k-th device
 * given. Both modes answer {@value #OUTPUT} {@code [N, classes]}, so they are two plans of one model.
 *
 * <ul>
 *   <li><b>high-accuracy</b>: on the longest live prefix of devices 1..m (m &gt;= 2) that has a
 *       combined mode, that mode's stages, one per device, joined by its transfers (each tensor
 *       sent once, peer to peer, to the device that reads it); device m answers. All stages are
 *       required: losing one re-plans and replays. With no such prefix (device 1 or 2 down), the
 *       survivors' sub-networks answer alone, as in high-throughput mode.
 *   <li><b>high-throughput</b>: every live device's sub-network as an optional stage, under a
 *       {@link MergeRule.Routed} merge: each request goes to the one device with the fewest requests
 *       in flight and is answered by its sub-network alone; a lost device's requests go to another.
 * </ul>
 *
 * <p>Every answer says how it was made ({@link #answerParameters}): {@value #PARAM_MODE} (this
 * plan's mode) and {@value #PARAM_SUBNETS} (the sub-networks whose groups computed it, e.g.
 * {@code 1,2}).
 */
public final class FluidProducer implements PlanProducer {

  public static final String HIGH_ACCURACY = "high-accuracy";
  public static final String HIGH_THROUGHPUT = "high-throughput";
  public static final String PARAM_MODE = "shoal.fluid.mode";
  public static final String PARAM_SUBNETS = "shoal.fluid.subnets";
  /** The output every plan of a Fluid network answers with. */
  public static final String OUTPUT = "logits";

  private final FluidManifest manifest;
  private final String mode;
  private final List<String> devices;
  private final Map<String, byte[]> files = new LinkedHashMap<>();
  private final Map<String, StageModel> models = new LinkedHashMap<>();
  private final Map<String, StageFiles.Signature> signatures = new LinkedHashMap<>();
  private final Map<String, Double> referenceSeconds;
  /** The sub-networks (groups) behind each stage that can answer: sub-network k, or a combined head's 1..m. */
  private final Map<String, List<Integer>> groupsOf = new LinkedHashMap<>();
  private final TensorSpec input;
  private final TensorSpec output;

  /**
   * @param mode {@link #HIGH_ACCURACY} or {@link #HIGH_THROUGHPUT}
   * @param devices device k runs group k (at least as many devices as groups; extra ones are unused)
   * @param referenceSeconds each file's compute per image on the reference host, which workers
   *     emulating slower devices scale; a file not named gets 0 (the worker times it at deploy)
   * @throws PlanException naming the manifest when a file is missing or does not read and write
   *     what the manifest says
   */
  public FluidProducer(Path dir, String mode, List<String> devices, Map<String, Double> referenceSeconds)
      throws IOException {
    Path file = dir.resolve(FluidManifest.FILE_NAME);
    this.manifest = FluidManifest.read(file);
    if (!mode.equals(HIGH_ACCURACY) && !mode.equals(HIGH_THROUGHPUT)) {
      throw new IllegalArgumentException("unknown Fluid mode '" + mode + "' (" + HIGH_ACCURACY + " or "
          + HIGH_THROUGHPUT + ")");
    }
    if (devices.size() < manifest.groups()) {
      throw new PlanException(file + ": " + manifest.groups() + " groups need " + manifest.groups()
          + " devices, the cluster has " + devices.size() + " " + devices);
    }
    this.mode = mode;
    this.devices = List.copyOf(devices.subList(0, manifest.groups()));
    this.referenceSeconds = Map.copyOf(referenceSeconds);
    this.input = new TensorSpec(manifest.input().name(), DType.FLOAT,
        manifest.input().shape().stream().mapToLong(Long::longValue).toArray());
    this.output = new TensorSpec(OUTPUT, DType.FLOAT, new long[] {-1, manifest.numClasses()});
    for (FluidManifest.SubNetwork sub : manifest.subNetworks()) {
      read(dir, file, sub.file(), List.of(input.name()), List.of(sub.output()));
      groupsOf.put(subStage(sub.device()), List.of(sub.device()));
    }
    for (FluidManifest.CombinedMode c : manifest.combined()) {
      for (FluidManifest.Stage st : c.stages()) {
        read(dir, file, st.file(), st.inputs(), st.outputs());
      }
      groupsOf.put(stageId(answering(c)), IntStream.rangeClosed(1, c.devices()).boxed().toList());
    }
  }

  /** Both modes of the Fluid network in {@code dir}, high-accuracy first. */
  public static List<FluidProducer> modes(Path dir, List<String> devices, Map<String, Double> referenceSeconds)
      throws IOException {
    return List.of(new FluidProducer(dir, HIGH_ACCURACY, devices, referenceSeconds),
        new FluidProducer(dir, HIGH_THROUGHPUT, devices, referenceSeconds));
  }

  private void read(Path dir, Path manifestFile, String name, List<String> inputs, List<String> outputs)
      throws IOException {
    if (files.containsKey(name)) {
      return;
    }
    Path f = dir.resolve(name);
    if (!Files.isRegularFile(f)) {
      throw new PlanException(manifestFile + " names " + name + ", which does not exist in " + dir);
    }
    byte[] bytes = Files.readAllBytes(f);
    StageFiles.Signature sig = StageFiles.signature(bytes);
    if (!Set.copyOf(sig.inputNames()).equals(Set.copyOf(inputs)) || !sig.outputNames().containsAll(outputs)) {
      throw new PlanException(manifestFile + ": " + name + " reads " + sig.inputNames() + " and writes "
          + sig.outputNames() + ", the manifest says " + inputs + " -> " + outputs);
    }
    models.put(name, StageFiles.add(files, name, bytes));
    signatures.put(name, sig);
  }

  public FluidManifest manifest() {
    return manifest;
  }

  /** The devices groups 1..G run on. */
  public List<String> devices() {
    return devices;
  }

  @Override
  public String name() {
    return mode;
  }

  @Override
  public PlanBundle plan(List<String> liveDevices) {
    List<Integer> live = IntStream.rangeClosed(1, manifest.groups())
        .filter(k -> liveDevices.contains(devices.get(k - 1))).boxed().toList();
    if (live.isEmpty()) {
      throw new InfeasibleInstanceException("none of the Fluid network's devices " + devices + " is live");
    }
    if (mode.equals(HIGH_ACCURACY)) {
      int prefix = 0;
      while (prefix < live.size() && live.get(prefix) == prefix + 1) {
        prefix++;
      }
      int m = prefix;
      Optional<FluidManifest.CombinedMode> combined = manifest.combined().stream().filter(c -> c.devices() == m)
          .findFirst();
      if (combined.isPresent()) {
        return combined(combined.get());
      }
    }
    return routed(live);
  }

  /** High-accuracy mode on devices 1..m: one stage per device, the transfers as edges, device m answers. */
  private PlanBundle combined(FluidManifest.CombinedMode c) {
    List<Stage> stages = new ArrayList<>();
    List<Edge> edges = new ArrayList<>();
    for (FluidManifest.Stage st : c.stages()) {
      String id = stageId(st);
      StageFiles.Signature sig = signatures.get(st.file());
      stages.add(new Stage(id, models.get(st.file()), List.of(devices.get(st.device() - 1)), false, sig.inputNames(),
          st.outputs(), null, referenceSeconds.getOrDefault(st.file(), 0.0), Double.NaN,
          "group " + st.device() + (st == answering(c) ? ", combined head of 1.." + c.devices() : ", features")));
      for (String in : sig.inputNames()) {
        if (in.equals(input.name())) {
          edges.add(new Edge(new Port(Plan.REQUEST, in), new Port(id, in), "raw"));
          continue;
        }
        FluidManifest.Transfer t = c.transfers().stream().filter(x -> x.tensor().equals(in) && x.to() == st.device())
            .findFirst().orElseThrow(() -> new PlanException(manifest.name() + ": combined mode 1.." + c.devices()
                + ": nothing sends '" + in + "' to device " + st.device()));
        FluidManifest.Stage from = c.stages().stream().filter(x -> x.device() == t.from()).findFirst().orElseThrow(
            () -> new PlanException(manifest.name() + ": combined mode 1.." + c.devices() + " has no stage on device "
                + t.from()));
        edges.add(new Edge(new Port(stageId(from), in), new Port(id, in), "raw"));
      }
    }
    edges.add(new Edge(new Port(stageId(answering(c)), c.output()), new Port(Plan.RESPONSE, OUTPUT), "raw"));
    Plan plan = new Plan(manifest.name(), mode, List.of(input), List.of(output), stages, edges, List.of(), List.of(),
        Predicted.UNKNOWN);
    return new PlanBundle(plan, files);
  }

  /** Each live device's sub-network alone; each request routed to one of them. */
  private PlanBundle routed(List<Integer> live) {
    List<Stage> stages = new ArrayList<>();
    List<Edge> edges = new ArrayList<>();
    List<Merge.Member> members = new ArrayList<>();
    for (int k : live) {
      FluidManifest.SubNetwork sub = manifest.subNetworks().get(k - 1);
      String id = subStage(k);
      StageFiles.Signature sig = signatures.get(sub.file());
      stages.add(new Stage(id, models.get(sub.file()), List.of(devices.get(k - 1)), true, sig.inputNames(),
          List.of(sub.output()), null, referenceSeconds.getOrDefault(sub.file(), 0.0), Double.NaN,
          "sub-network " + k + " alone"));
      edges.add(new Edge(new Port(Plan.REQUEST, input.name()), new Port(id, input.name()), "raw"));
      members.add(new Merge.Member(id, id, Map.of("values", sub.output()), 1.0, List.of()));
    }
    Merge merge = new Merge("route", new MergeRule.Routed(OUTPUT, output.shape()), members, 0);
    Plan plan = new Plan(manifest.name(), mode, List.of(input), List.of(output), stages, edges, List.of(),
        List.of(merge), Predicted.UNKNOWN);
    return new PlanBundle(plan, files);
  }

  @Override
  public Map<String, String> answerParameters(Plan plan, Set<String> answeringStages) {
    TreeSet<Integer> groups = new TreeSet<>();
    answeringStages.forEach(s -> groups.addAll(groupsOf.getOrDefault(s, List.of())));
    return Map.of(PARAM_MODE, mode,
        PARAM_SUBNETS, groups.stream().map(String::valueOf).collect(Collectors.joining(",")));
  }

  private static String subStage(int k) {
    return "sub" + k;
  }

  /** A combined mode's stage: its file name without {@code .onnx} (e.g. stage1-features). */
  private static String stageId(FluidManifest.Stage st) {
    return st.file().endsWith(".onnx") ? st.file().substring(0, st.file().length() - 5) : st.file();
  }

  /** The stage of a combined mode that answers: the one on its last device. */
  private static FluidManifest.Stage answering(FluidManifest.CombinedMode c) {
    return c.stages().stream().filter(s -> s.device() == c.devices()).findFirst().orElseThrow(
        () -> new PlanException("combined mode 1.." + c.devices() + " has no stage on device " + c.devices()));
  }
}
