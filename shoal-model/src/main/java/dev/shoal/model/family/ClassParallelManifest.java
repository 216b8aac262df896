package dev.shoal.model.family;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code class-parallel.json}: N sub-models, each owning a subset of the classes. Each reads the
 * shared {@link #input} and outputs {@link Member#output} (float32 {@code [N, classes.size()]}), the
 * logits of its classes in the order of {@link Member#classes}. The gateway scatters them into one
 * {@code numClasses} vector; classes of a missing member cannot be predicted.
 *
 * <p>Format version 1. Fields are only ever added; readers ignore fields they do not know.
 */
public record ClassParallelManifest(
    int formatVersion, String name, int numClasses, ModelInput input, List<Member> members) {

  public static final String FILE_NAME = "class-parallel.json";
  public static final int FORMAT_VERSION = 1;

  public ClassParallelManifest {
    members = List.copyOf(members);
    if (members.isEmpty()) {
      throw new IllegalArgumentException("class parallelism needs at least one member");
    }
  }

  /** One sub-model and the classes whose logits it outputs. */
  public record Member(String name, String file, List<Integer> classes, long params, long macs, String output) {
    public Member {
      classes = List.copyOf(classes);
    }
  }

  public static ClassParallelManifest read(Path file) throws IOException {
    return VariantFamilyManifest.readJson(file, ClassParallelManifest.class, "class-parallel manifest");
  }

  /** Writes the manifest aside, then moves it into place. */
  public void write(Path file) throws IOException {
    VariantFamilyManifest.writeJson(this, file);
  }
}
