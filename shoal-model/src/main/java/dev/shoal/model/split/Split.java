package dev.shoal.model.split;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.model.ModelFormatException;
import dev.shoal.model.io.OnnxModelIO;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A model cut into a chain of stages: stage 0 reads the model inputs, every later stage reads only
 * what the stage before it sends, the last stage yields the model outputs (see
 * {@link ModelSplitter}).
 *
 * <p>On disk (a split directory): {@code stage-0.onnx …} and {@code split.json}:
 * {@code {"stages":[{"file","inputs","outputs","firstPosition","lastPosition","macs","paramBytes",
 * "codec"?}], "modelInputs","modelOutputs"}}. The optional {@code codec} of stage i (never the
 * last) names the codec of the cut after it, as the runtime parses it ({@code int8c+zstd}, see
 * shoal-runtime's TensorCodec); a split without codecs sends every cut raw.
 *
 * @param cutCodecs the codec name of each cut (stages − 1 of them), or empty: raw everywhere
 */
public record Split(List<Stage> stages, List<String> modelInputs, List<String> modelOutputs,
    List<String> cutCodecs) {

  public static final String MANIFEST = "split.json";

  public Split {
    stages = List.copyOf(stages);
    modelInputs = List.copyOf(modelInputs);
    modelOutputs = List.copyOf(modelOutputs);
    cutCodecs = List.copyOf(cutCodecs);
    checkChain(stages, modelInputs, modelOutputs, "split");
    if (!cutCodecs.isEmpty() && cutCodecs.size() != stages.size() - 1) {
      throw new IllegalArgumentException("a split of " + stages.size() + " stages has " + (stages.size() - 1)
          + " cuts, got " + cutCodecs.size() + " cut codecs");
    }
    for (String c : cutCodecs) {
      if (c.isBlank()) {
        throw new IllegalArgumentException("a cut codec name is blank");
      }
    }
  }

  /** A split whose cuts all travel raw. */
  public Split(List<Stage> stages, List<String> modelInputs, List<String> modelOutputs) {
    this(stages, modelInputs, modelOutputs, List.of());
  }

  /** The same stages with these cut codecs (one per cut). */
  public Split withCutCodecs(List<String> codecs) {
    return new Split(stages, modelInputs, modelOutputs, codecs);
  }

  /**
   * Writes the split into {@code dir}: everything goes to a temporary directory beside it first and
   * is moved into place at the end, so {@code dir} is never left half-written. An existing
   * {@code dir} is replaced only if it is empty or holds a previous split (a {@code split.json}).
   */
  public void writeTo(Path dir) {
    Path target = dir.toAbsolutePath().normalize();
    Path parent = target.getParent();
    try {
      if (Files.exists(target)) {
        if (!Files.isDirectory(target)) {
          throw new IllegalArgumentException(dir + " exists and is not a directory");
        }
        try (Stream<Path> entries = Files.list(target)) {
          if (entries.findAny().isPresent() && !Files.exists(target.resolve(MANIFEST))) {
            throw new IllegalArgumentException(
                "refusing to replace " + dir + ": it is not empty and holds no " + MANIFEST);
          }
        }
      }
      Files.createDirectories(parent);
      Path tmp = Files.createTempDirectory(parent, "." + target.getFileName() + ".tmp-");
      try {
        for (Stage s : stages) {
          Files.write(tmp.resolve(s.fileName()), s.model().toByteArray());
        }
        Files.writeString(tmp.resolve(MANIFEST), manifest());
        if (Files.exists(target)) {
          Path old = Files.createTempDirectory(parent, "." + target.getFileName() + ".old-");
          Files.delete(old);
          Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
          try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
          } catch (IOException e) {
            Files.move(old, target, StandardCopyOption.ATOMIC_MOVE); // put the previous split back
            throw e;
          }
          deleteTree(old);
        } else {
          Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        }
      } finally {
        deleteTree(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write split to " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Reads a split directory written by {@link #writeTo}, checking that the stages chain up. */
  public static Split readFrom(Path dir) {
    Path manifest = dir.resolve(MANIFEST);
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(Files.readString(manifest));
    } catch (NoSuchFileException e) {
      throw new ModelFormatException(dir + ": not a split directory (no " + MANIFEST + ")");
    } catch (IOException e) {
      throw new ModelFormatException(manifest + ": unreadable: " + e.getMessage().replace('\n', ' '), e);
    }
    if (root == null || !root.path("stages").isArray() || root.path("stages").isEmpty()) {
      throw new ModelFormatException(manifest + ": no \"stages\" list");
    }
    List<Stage> stages = new ArrayList<>();
    List<String> codecs = new ArrayList<>();
    int stageCount = root.path("stages").size();
    for (JsonNode s : root.path("stages")) {
      JsonNode codec = s.path("codec");
      if (!codec.isMissingNode()) {
        if (!codec.isTextual() || codec.asText().isBlank() || stages.size() == stageCount - 1) {
          throw new ModelFormatException(manifest + ": stage " + stages.size() + " has a bad \"codec\" ("
              + (stages.size() == stageCount - 1 ? "the last stage sends to no cut" : "not a codec name") + ")");
        }
        codecs.add(codec.asText());
      }
      String file = s.path("file").asText("");
      if (file.isEmpty() || file.contains("/") || file.contains("\\")) {
        throw new ModelFormatException(manifest + ": stage " + stages.size() + " has a bad \"file\"");
      }
      ModelProto model = OnnxModelIO.read(dir.resolve(file));
      stages.add(new Stage(stages.size(), model, strings(s.path("inputs")), strings(s.path("outputs")),
          s.path("firstPosition").asInt(), s.path("lastPosition").asInt(), s.path("macs").asLong(),
          s.path("paramBytes").asLong()));
    }
    List<String> inputs = strings(root.path("modelInputs"));
    List<String> outputs = strings(root.path("modelOutputs"));
    checkChain(stages, inputs, outputs, manifest.toString());
    if (!codecs.isEmpty() && codecs.size() != stageCount - 1) {
      throw new ModelFormatException(manifest + ": " + codecs.size() + " of the " + (stageCount - 1)
          + " cuts name a codec; name one for every cut or none");
    }
    return new Split(stages, inputs, outputs, codecs);
  }

  /** The {@code split.json} text. */
  public String manifest() {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    var list = root.putArray("stages");
    for (Stage s : stages) {
      ObjectNode o = list.addObject();
      o.put("file", s.fileName());
      s.inputs().forEach(o.putArray("inputs")::add);
      s.outputs().forEach(o.putArray("outputs")::add);
      o.put("firstPosition", s.firstPosition());
      o.put("lastPosition", s.lastPosition());
      o.put("macs", s.macs());
      o.put("paramBytes", s.paramBytes());
      if (!cutCodecs.isEmpty() && s.index() < cutCodecs.size()) {
        o.put("codec", cutCodecs.get(s.index()));
      }
    }
    modelInputs.forEach(root.putArray("modelInputs")::add);
    modelOutputs.forEach(root.putArray("modelOutputs")::add);
    try {
      return mapper.writeValueAsString(root);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise split manifest", e);
    }
  }

  private static void checkChain(
      List<Stage> stages, List<String> inputs, List<String> outputs, String where) {
    if (stages.isEmpty()) {
      throw new ModelFormatException(where + ": a split needs at least one stage");
    }
    Set<String> available = new HashSet<>(inputs);
    for (Stage s : stages) {
      for (String in : s.inputs()) {
        if (!available.contains(in)) {
          throw new ModelFormatException(where + ": stage " + s.index() + " reads '" + in
              + "', which the stage before it does not send");
        }
      }
      available = new HashSet<>(s.outputs());
    }
    if (!available.containsAll(outputs)) {
      throw new ModelFormatException(where + ": the last stage does not produce every model output "
          + outputs);
    }
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
