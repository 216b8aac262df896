package dev.shoal.model.family;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * {@code family.json}: a variant-parallel family, one ONNX file per variant in the manifest's
 * directory. Every variant reads the same input ({@link #input}) and returns its top-k: output
 * {@link Variant#classesOutput} (int64 {@code [N, k]}, class ids best first) and
 * {@link Variant#scoresOutput} (float32 {@code [N, k]}, their softmax probabilities). The gateway
 * fuses whichever variants answered with {@link TopKFusion} ({@link #fusion} names the rule).
 *
 * <p>Format version 1. Fields are only ever added; readers ignore fields they do not know.
 */
public record VariantFamilyManifest(
    int formatVersion,
    String name,
    int numClasses,
    ModelInput input,
    String fusion,
    List<Variant> variants) {

  public static final String FILE_NAME = "family.json";
  public static final int FORMAT_VERSION = 1;
  /** Fused score of class c = sum over answering variants of fusionWeight * (score of c in its top-k, else 0). */
  public static final String FUSION_WEIGHTED_TOPK_SUM = "weighted-topk-probability-sum";

  public VariantFamilyManifest {
    variants = List.copyOf(variants);
    if (variants.isEmpty()) {
      throw new IllegalArgumentException("a variant family needs at least one variant");
    }
  }

  /**
   * One variant. {@code resolution}: the side its backbone sees (the model resizes the shared input
   * itself); {@code fusionWeight}: the paper's {@code (r / max r) * (alpha / 0.35)^1.15};
   * {@code params}, {@code macs}: per image; {@code testAccuracy}: its own top-1 on the full test set
   * when it was exported.
   */
  public record Variant(
      String name,
      String file,
      int resolution,
      double widthMultiplier,
      int headWidth,
      long params,
      long macs,
      double fusionWeight,
      int k,
      String classesOutput,
      String scoresOutput,
      double testAccuracy) {}

  public static VariantFamilyManifest read(Path file) throws IOException {
    return readJson(file, VariantFamilyManifest.class, "variant family manifest");
  }

  /** Writes the manifest aside, then moves it into place. */
  public void write(Path file) throws IOException {
    writeJson(this, file);
  }

  static final ObjectMapper MAPPER =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /**
   * Reads a manifest of {@code type}; a missing file, or one that does not parse, is an error
   * naming the file (and, for a relative path, where it was looked for) and {@code what} it is.
   */
  static <T> T readJson(Path file, Class<T> type, String what) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, "no " + what + " there"
          + (file.isAbsolute() ? "" : " (a relative path: looked for " + file.toAbsolutePath() + ")"));
    }
    try {
      return MAPPER.readValue(file.toFile(), type);
    } catch (IOException e) {
      throw new IOException(file + ": not a valid " + what + ": " + e.getMessage(), e);
    }
  }

  static void writeJson(Object value, Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".part");
    try {
      MAPPER.writeValue(tmp.toFile(), value);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
