package dev.shoal.train.separable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.train.recipes.Progress;
import dev.shoal.train.separable.PolicySearchRecipe.Measured;
import dev.shoal.train.separable.PolicySearchRecipe.Results;
import dev.shoal.train.train.TrainConfig;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * {@code shoal train separable --policy P.json}: trains the network of ONE transmission policy
 * from freshly initialised weights, the standard NAS protocol (the supernet only serves the
 * search; the architecture it finds is then trained alone). The recipe, the seed, the
 * {@link dev.shoal.train.train.StepGuard} and the checkpoint after every epoch are {@link SeparableTrainer}'s, so a run
 * started again resumes. The result is exported as the search's fine-tuned policies are
 * ({@code policies/<name>}: per-device segments and {@code separable.json}), measured on the test
 * set through {@link SegmentChain}, and recorded with its steps as the row {@code name} of
 * {@value PolicySearchRecipe#RESULTS} in the output directory (added, or replacing the row of that
 * name), where {@code shoal bench policy} prints it. An output directory holding
 * {@value SeparableRecipe.SeparableTraining#FILE_NAME} (a search's, with its supernet's network)
 * must be given the same width.
 */
public final class PolicyRetrain {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private PolicyRetrain() {}

  /**
   * @param policyFile the policy to train ({@code policy.json} of a search, or of an export)
   * @param name the row's name and the export's directory under {@code policies/}
   * @param width the network's width multiplier ({@link SeparableArchitecture#fashion(int, int, int, int, double)})
   * @param recipe epochs, learning rate, seed and the rest of the training recipe
   */
  public record Settings(Path policyFile, String name, double width, TrainConfig recipe) {
    public Settings {
      if (!NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("--name must be letters, digits, '.', '_' or '-', got '" + name + "'");
      }
    }
  }

  public static Measured run(SeparableData data, Settings settings, Path outDir, Consumer<String> log)
      throws IOException {
    long start = System.nanoTime();
    TransmissionPolicy policy = TransmissionPolicy.read(settings.policyFile());
    SeparableArchitecture arch =
        SeparableArchitecture.fashion(policy.groups(), data.rows(), data.cols(), data.classes(), settings.width());
    if (Files.isRegularFile(outDir.resolve(SeparableRecipe.SeparableTraining.FILE_NAME))) {
      // A search directory that records its supernet's network: the retrain must be of the same one.
      SeparableArchitecture searched = SeparableRecipe.SeparableTraining.read(outDir).architecture();
      if (!searched.equals(arch)) {
        throw new IllegalArgumentException(String.format(
            "%s records a network of G=%d with blocks %s; --width %s gives G=%d with blocks %s: give the search's width",
            outDir, searched.groups(), searched.blocks(), settings.width(), arch.groups(), arch.blocks()));
      }
    }
    long baselineBytes = TransmissionPolicy.baseline(arch).bytes(arch);
    Files.createDirectories(outDir);
    try (SeparableTrainer trainer =
        new SeparableTrainer(new SeparableNet(arch), settings.recipe(), data.train().data().count())) {
      trainer.net().usePolicy(policy);
      log.accept(String.format(
          "%s: policy %s (%d bytes per inference, baseline %d), trained alone from fresh weights; G=%d, width %s: %s",
          settings.name(), policy.summary(), policy.bytes(arch), baselineBytes, arch.groups(), settings.width(),
          SeparableRecipe.size(trainer.net(), data.rows(), data.cols())));
      var epochs =
          trainer.fit(data.train(), Optional.empty(), outDir.resolve("checkpoints").resolve(settings.name()),
              Progress.epochs(settings.name(), settings.recipe(), log));
      Measured row =
          PolicySearchRecipe.exportAndMeasure(
              settings.name(), trainer, data, outDir, baselineBytes,
              SeparableTrainer.steps(epochs, settings.recipe().batchSize()), log);
      record(outDir, arch.groups(), baselineBytes, row);
      log.accept(String.format("%s: %.0f s in all", settings.name(), (System.nanoTime() - start) / 1e9));
      return row;
    }
  }

  /**
   * Adds {@code row} to the results in {@code dir} (a new file if the directory has none), under a
   * file lock: two retrains may finish into the same directory at once.
   */
  private static void record(Path dir, int groups, long baselineBytes, Measured row) throws IOException {
    Path file = dir.resolve(PolicySearchRecipe.RESULTS);
    // The lock file lives with the checkpoints, which are not part of a committed model set.
    try (FileChannel lockFile =
            FileChannel.open(dir.resolve("checkpoints").resolve(PolicySearchRecipe.RESULTS + ".lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockFile.lock()) {
      Results before =
          Files.isRegularFile(file)
              ? JSON.readValue(file.toFile(), Results.class)
              : new Results(groups, baselineBytes, baselineBytes, Map.of(), List.of(), 0);
      if (before.groups() != groups) {
        throw new IllegalArgumentException(
            file + " holds results of G=" + before.groups() + ", the policy has G=" + groups + "; use another --out");
      }
      List<Measured> rows = new ArrayList<>(before.measured().stream().filter(m -> !m.name().equals(row.name())).toList());
      rows.add(row);
      Results after =
          new Results(before.groups(), before.baselineBytes(), before.maxBytes(), before.searches(), rows, before.seconds());
      Path tmp = file.resolveSibling(file.getFileName() + ".part");
      JSON.writeValue(tmp.toFile(), after);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
  }
}
