package dev.shoal.plan.graph;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A plan with its stages' ONNX files, by file name as the plan's stages name them; on disk, the
 * plan JSON with the stage files beside it. Every file's SHA-256 matches its stage's.
 */
public record PlanBundle(Plan plan, Map<String, byte[]> models) {

  public PlanBundle {
    plan.validate();
    models = Map.copyOf(models);
    for (Stage s : plan.stages()) {
      byte[] bytes = models.get(s.model().file());
      if (bytes == null) {
        throw new PlanException("plan '" + plan.name() + "', stage '" + s.id() + "': no bytes for model file '"
            + s.model().file() + "'");
      }
      String actual = sha256(bytes);
      if (!actual.equals(s.model().sha256())) {
        throw new PlanException("plan '" + plan.name() + "', stage '" + s.id() + "': model file '" + s.model().file()
            + "' has SHA-256 " + actual + ", the plan says " + s.model().sha256());
      }
    }
  }

  /** The ONNX bytes of a stage. */
  public byte[] model(Stage stage) {
    return models.get(stage.model().file());
  }

  /** The same plan and models with the plan replaced (same stage files). */
  public PlanBundle with(Plan replaced) {
    return new PlanBundle(replaced, models);
  }

  /**
   * Writes the plan to {@code planFile} and each stage file beside it (each written aside, then
   * moved into place).
   */
  public void write(Path planFile) throws IOException {
    Path dir = planFile.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    for (Map.Entry<String, byte[]> m : models.entrySet()) {
      writeAtomically(dir.resolve(m.getKey()), m.getValue());
    }
    writeAtomically(planFile.toAbsolutePath(), PlanJson.toJson(plan).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /**
   * Reads a plan and its stage files (relative to the plan file's directory), checking each file's SHA-256.
   *
   * @throws PlanException naming the file and what is wrong
   */
  public static PlanBundle read(Path planFile) throws IOException {
    Plan plan = PlanJson.read(planFile);
    Path dir = planFile.toAbsolutePath().getParent();
    Map<String, byte[]> models = new LinkedHashMap<>();
    for (Stage s : plan.stages()) {
      Path f = dir.resolve(s.model().file()).normalize();
      if (!f.startsWith(dir)) {
        throw new PlanException(planFile + ", stage '" + s.id() + "': model file '" + s.model().file()
            + "' is outside the plan's directory");
      }
      if (!models.containsKey(s.model().file())) {
        if (!Files.isRegularFile(f)) {
          throw new PlanException(planFile + ", stage '" + s.id() + "': model file " + f + " does not exist");
        }
        models.put(s.model().file(), Files.readAllBytes(f));
      }
    }
    try {
      return new PlanBundle(plan, models);
    } catch (PlanException e) {
      throw new PlanException(planFile + ": " + e.getMessage());
    }
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  private static void writeAtomically(Path file, byte[] bytes) throws IOException {
    Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".part");
    try {
      Files.write(tmp, bytes);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
