package dev.shoal.plan.strategy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.DType;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.family.SeparableManifest;
import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.graph.Edge;
import dev.shoal.plan.graph.Exchange;
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
import java.util.stream.Stream;

/**
 * Width parallelism: a separable network exported for one transmission policy
 * ({@link SeparableManifest}) as a plan graph. Every (device, segment) is a stage {@code d<g>s<i>}
 * running its ONNX file; the image goes from the request to every device's segment 0; a device's
 * own state goes from each segment to its next ({@code state_out -> state_in}, raw); each of the
 * policy's exchanges is an {@link Exchange} from the sender's segment to the receiver's next one,
 * peer to peer, with the runtime codec that decodes to exactly what training simulated on that
 * link; and a {@link MergeRule.Sum} adds the last segments' partial logits into the answer.
 * Network device g runs on live device {@code g mod live}, so a lost device's part moves to a
 * survivor (which then runs two parts).
 */
public final class WidthParallelProducer implements PlanProducer {

  public static final String PLAN_NAME = "width-parallel";
  private static final String VALUES = "values";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String model;
  private final SeparableManifest manifest;
  private final Map<String, StageModel> stageModels = new LinkedHashMap<>();
  private final Map<String, byte[]> files = new LinkedHashMap<>();

  /**
   * @param dir an export directory holding {@value SeparableManifest#FILE_NAME} and its segment files
   * @param model the name the network is served under
   * @throws PlanException naming the file when the export is incomplete or inconsistent
   */
  public WidthParallelProducer(Path dir, String model) throws IOException {
    this.model = model;
    this.manifest = SeparableManifest.read(dir);
    Path where = dir.resolve(SeparableManifest.FILE_NAME);
    for (SeparableManifest.Segment s : manifest.segments()) {
      Path file = dir.resolve(s.file()).normalize();
      if (!file.startsWith(dir.normalize()) || !Files.isRegularFile(file)) {
        throw new PlanException(where + ": segment " + s.id() + " names " + s.file() + ", which is not a file in " + dir);
      }
      StageModel stage = StageFiles.add(files, model + "-" + s.id() + ".onnx", Files.readAllBytes(file));
      if (!stage.sha256().equals(s.sha256())) {
        throw new PlanException(where + ": " + s.file() + " has SHA-256 " + stage.sha256() + ", the manifest says "
            + s.sha256());
      }
      stageModels.put(s.id(), stage);
    }
    for (SeparableManifest.Exchange e : manifest.exchanges()) {
      runtimeCodec(e, where);
    }
    if (!"sum".equals(manifest.output().combine())) {
      throw new PlanException(where + ": output combine '" + manifest.output().combine() + "' (only 'sum' is served)");
    }
  }

  /**
   * The export to serve: {@code dir} itself when it holds {@value SeparableManifest#FILE_NAME}, else
   * the one export below it (e.g. {@code search/policies/<name>}) whose policy equals
   * {@code policyFile}'s. With {@code policyFile} given, the chosen export's policy must equal it.
   *
   * @throws IllegalArgumentException saying what was found when no export, or several, fit
   */
  public static Path findExport(Path dir, Optional<Path> policyFile) throws IOException {
    JsonNode wanted = policyFile.isPresent() ? readPolicy(policyFile.get()) : null;
    List<Path> exports;
    if (Files.isRegularFile(dir.resolve(SeparableManifest.FILE_NAME))) {
      exports = List.of(dir);
    } else if (Files.isDirectory(dir)) {
      try (Stream<Path> found = Files.find(dir, 4, (p, a) -> p.getFileName().toString().equals(SeparableManifest.FILE_NAME))) {
        exports = found.map(Path::getParent).sorted().toList();
      }
    } else {
      throw new IllegalArgumentException(dir + " is not a directory");
    }
    if (exports.isEmpty()) {
      throw new IllegalArgumentException(dir + " holds no " + SeparableManifest.FILE_NAME
          + " (export a policy with `shoal search-policy`)");
    }
    if (wanted == null) {
      if (exports.size() > 1) {
        throw new IllegalArgumentException(dir + " holds " + exports.size() + " exports " + exports
            + ": give --policy P.json or one of them");
      }
      return exports.get(0);
    }
    List<Path> matching = new ArrayList<>();
    for (Path e : exports) {
      if (SeparableManifest.read(e).policy().equals(wanted)) {
        matching.add(e);
      }
    }
    if (matching.isEmpty()) {
      throw new IllegalArgumentException("no export under " + dir + " follows the policy of " + policyFile.get()
          + " (exports: " + exports + ")");
    }
    return matching.get(0);
  }

  private static JsonNode readPolicy(Path file) throws IOException {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": not a policy file (" + e.getMessage() + ")", e);
    }
  }

  /**
   * The runtime codec of a training link codec: fp32 raw, fp16 saturating half, int8/int4
   * symmetric per channel slice (the values training simulated, bit for bit).
   */
  static String runtimeCodec(SeparableManifest.Exchange e, Object where) {
    return switch (e.codec()) {
      case "fp32" -> "raw";
      case "fp16" -> "fp16s";
      case "int8" -> "int8s";
      case "int4" -> "int4s";
      default -> throw new PlanException(where + ": exchange " + e.from() + " -> " + e.to() + " has codec '"
          + e.codec() + "' (fp32, fp16, int8 or int4)");
    };
  }

  public SeparableManifest manifest() {
    return manifest;
  }

  @Override
  public String name() {
    return PLAN_NAME;
  }

  @Override
  public PlanBundle plan(List<String> liveDevices) {
    if (liveDevices.isEmpty()) {
      throw new InfeasibleInstanceException("no live devices for the " + manifest.groups() + " parts of the network");
    }
    List<Stage> stages = new ArrayList<>();
    List<Edge> edges = new ArrayList<>();
    for (SeparableManifest.Segment s : manifest.segments()) {
      String device = liveDevices.get(s.device() % liveDevices.size());
      List<String> inputs = s.inputs().stream().map(SeparableManifest.Port::name).toList();
      List<String> outputs = s.outputs().stream().map(SeparableManifest.Port::name).toList();
      stages.add(new Stage(s.id(), stageModels.get(s.id()), List.of(device), false, inputs, outputs, null, 0,
          Double.NaN, String.format("device %d, blocks %d-%d", s.device(), s.firstBlock(), s.lastBlock())));
      if (s.index() == 0) {
        for (String in : inputs) {
          edges.add(new Edge(new Port(Plan.REQUEST, in), new Port(s.id(), in), "raw"));
        }
      } else {
        String previous = "d" + s.device() + "s" + (s.index() - 1);
        edges.add(new Edge(new Port(previous, SeparableManifest.STATE_OUT), new Port(s.id(), SeparableManifest.STATE_IN),
            "raw"));
      }
    }
    List<Exchange> exchanges = new ArrayList<>();
    for (SeparableManifest.Exchange e : manifest.exchanges()) {
      exchanges.add(new Exchange(new Port(e.from(), e.tensor()), new Port(e.to(), e.input()),
          runtimeCodec(e, SeparableManifest.FILE_NAME), "after block " + e.afterBlock()));
    }
    List<Merge.Member> members = new ArrayList<>();
    for (String from : manifest.output().from()) {
      members.add(new Merge.Member(from, from, Map.of(VALUES, SeparableManifest.PARTIAL_LOGITS), 1.0, List.of()));
    }
    MergeRule.Sum sum = new MergeRule.Sum(manifest.output().name(), new long[] {-1, manifest.classes()});
    SeparableManifest.Segment first = manifest.segments().get(0);
    List<TensorSpec> inputs = first.inputs().stream()
        .map(p -> new TensorSpec(p.name(), DType.FLOAT, p.shape().stream().mapToLong(Long::longValue).toArray()))
        .toList();
    Plan plan = new Plan(model, PLAN_NAME, inputs, sum.outputs(), stages, edges, exchanges,
        List.of(new Merge("sum", sum, members, 0)), Predicted.UNKNOWN);
    return new PlanBundle(plan, files);
  }
}
