package dev.shoal.train.fluid;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession.EpochReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The units a Fluid run trains, in order, and {@code progress.json}: which of them have finished
 * (each with its checkpoint, epochs and DJL test accuracy), so that a rerun skips them.
 */
final class TrainingPlan {

  static final String PROGRESS_FILE = "progress.json";

  /** One unit of training: the Static or Dynamic baseline, or one phase of a Fluid network. */
  sealed interface Unit permits StaticUnit, DynamicUnit, FluidPhase {
    /** The unit's name, also its checkpoint's file name without {@code .params}. */
    String name();
  }

  record StaticUnit() implements Unit {
    @Override
    public String name() {
      return "static";
    }
  }

  record DynamicUnit() implements Unit {
    @Override
    public String name() {
      return "dynamic";
    }
  }

  /** Phase {@code phase} (1..groups) of the Fluid network with {@code groups} groups. */
  record FluidPhase(int groups, int phase) implements Unit {
    @Override
    public String name() {
      return "fluid-g" + groups + "-phase" + phase;
    }
  }

  /** A finished unit: how it trained, and the accuracy of each of its outputs on the test set (DJL). */
  record Finished(
      String unit, TrainConfig config, int trainImages, List<EpochReport> epochs, double seconds,
      Map<String, Double> testAccuracy) {}

  /** What has finished so far, by unit name, in the order the units finished. */
  record Progress(Map<String, Finished> finished) {
    Progress {
      finished = new LinkedHashMap<>(finished);
    }
  }

  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private TrainingPlan() {}

  /**
   * Static when {@code baselines}, every phase of each Fluid network, then Dynamic when
   * {@code baselines} (the costliest unit last, so an interrupted run has the most to show).
   */
  static List<Unit> units(List<Integer> groups, boolean baselines) {
    List<Unit> units = new ArrayList<>();
    if (baselines) {
      units.add(new StaticUnit());
    }
    for (int g : groups) {
      for (int p = 1; p <= g; p++) {
        units.add(new FluidPhase(g, p));
      }
    }
    if (baselines) {
      units.add(new DynamicUnit());
    }
    return units;
  }

  static Path checkpoint(Path dir, Unit unit) {
    return dir.resolve(unit.name() + ".params");
  }

  static Progress read(Path dir) throws IOException {
    Path file = dir.resolve(PROGRESS_FILE);
    if (!Files.isRegularFile(file)) {
      return new Progress(Map.of());
    }
    try {
      return MAPPER.readValue(file.toFile(), Progress.class);
    } catch (IOException e) {
      throw new IOException(file + ": not a valid progress file (" + e.getMessage() + "); delete it to retrain", e);
    }
  }

  static void write(Path dir, Progress progress) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve(PROGRESS_FILE);
    Path tmp = Files.createTempFile(dir, PROGRESS_FILE, ".part");
    try {
      MAPPER.writeValue(tmp.toFile(), progress);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
