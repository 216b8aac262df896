package dev.shoal.train.export;

import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.train.train.Teacher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A teacher read from an exported logits model ({@code shoal train base}'s {@code base.onnx}: input
 * {@code "input"} {@code [N, 1, rows, cols]}, output {@code "logits"} {@code [N, classes]}), run
 * with ONNX Runtime on each training batch.
 */
public final class OnnxTeacher implements Teacher {

  private final Path file;
  private final OnnxSession session;
  private final int rows;
  private final int cols;
  private final int classes;

  private OnnxTeacher(Path file, OnnxSession session, int rows, int cols, int classes) {
    this.file = file;
    this.session = session;
    this.rows = rows;
    this.cols = cols;
    this.classes = classes;
  }

  /** Opens {@code file}, checking it is a logits model for {@code rows x cols} images and {@code classes} classes. */
  public static OnnxTeacher open(Path file, int rows, int cols, int classes, int threads) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("teacher model " + file + " does not exist or is not a file");
    }
    OnnxSession session = OnnxSession.open(file, new OnnxSession.Options(threads, false));
    try {
      List<TensorSpec> in = session.inputs();
      TensorSpec out =
          session.outputs().stream()
              .filter(o -> o.name().equals(OnnxModels.LOGITS))
              .findFirst()
              .orElseThrow(
                  () -> new IllegalArgumentException(
                      file + ": a teacher needs an output named '" + OnnxModels.LOGITS + "', it has "
                          + session.outputs().stream().map(TensorSpec::name).toList()));
      if (in.size() != 1 || !in.get(0).name().equals(OnnxModels.INPUT)) {
        throw new IllegalArgumentException(
            file + ": a teacher needs one input named '" + OnnxModels.INPUT + "', it has "
                + in.stream().map(TensorSpec::name).toList());
      }
      long[] inShape = in.get(0).shape();
      if (inShape.length != 4 || inShape[2] != rows || inShape[3] != cols) {
        throw new IllegalArgumentException(
            file + ": teacher input is " + Arrays.toString(inShape) + ", the data is [N, 1, " + rows + ", " + cols + "]");
      }
      long[] outShape = out.shape();
      if (outShape.length != 2 || outShape[1] != classes) {
        throw new IllegalArgumentException(
            file + ": teacher logits are " + Arrays.toString(outShape) + ", the data has " + classes + " classes");
      }
      return new OnnxTeacher(file, session, rows, cols, classes);
    } catch (RuntimeException e) {
      session.close();
      throw e;
    }
  }

  @Override
  public float[] logits(float[] images, int count) {
    TensorData x = TensorData.ofFloats(OnnxModels.INPUT, new long[] {count, 1, rows, cols}, images);
    return session.run(Map.of(OnnxModels.INPUT, x), Set.of(OnnxModels.LOGITS)).get(OnnxModels.LOGITS).floats();
  }

  @Override
  public int classes() {
    return classes;
  }

  @Override
  public String toString() {
    return "teacher " + file;
  }

  @Override
  public void close() {
    session.close();
  }
}
