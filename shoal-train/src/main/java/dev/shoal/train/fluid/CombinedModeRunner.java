package dev.shoal.train.fluid;

import dev.shoal.model.TensorData;
import dev.shoal.model.family.FluidManifest;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.data.BatchMaker;
import dev.shoal.train.export.OnnxModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a combined mode's stages with ONNX Runtime in device order, on one machine: every stage
 * reads the image and the tensors earlier stages produced, by name, exactly as the
 * {@link FluidManifest.Transfer}s carry them between devices. Gives the combined logits.
 */
public final class CombinedModeRunner implements AutoCloseable {

  private final FluidManifest.CombinedMode mode;
  private final List<OnnxSession> sessions = new ArrayList<>();

  public CombinedModeRunner(Path dir, FluidManifest.CombinedMode mode) {
    this.mode = mode;
    try {
      for (FluidManifest.Stage s : mode.stages()) {
        sessions.add(OnnxSession.open(dir.resolve(s.file()), new OnnxSession.Options(1, false)));
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** The combined logits for a batch {@code [N, 1, rows, cols]} of normalised images. */
  public TensorData run(TensorData images) {
    Map<String, TensorData> produced = new HashMap<>();
    produced.put(OnnxModels.INPUT, images);
    for (int i = 0; i < sessions.size(); i++) {
      FluidManifest.Stage stage = mode.stages().get(i);
      Map<String, TensorData> in = new HashMap<>();
      for (String name : stage.inputs()) {
        TensorData t = produced.get(name);
        if (t == null) {
          throw new IllegalStateException("stage " + stage.file() + " reads " + name + ", which no earlier stage produced");
        }
        in.put(name, t);
      }
      produced.putAll(sessions.get(i).run(in));
    }
    return produced.get(mode.output());
  }

  /** The combined logits of every image of {@code data}, {@code [count * classes]}. */
  public float[] logits(BatchMaker data, int batchSize) {
    int[] order = data.sequentialOrder();
    int rows = data.data().rows();
    int cols = data.data().cols();
    float[] all = null;
    for (int from = 0; from < order.length; from += batchSize) {
      int to = Math.min(order.length, from + batchSize);
      TensorData x = TensorData.ofFloats(
          OnnxModels.INPUT, new long[] {to - from, 1, rows, cols}, data.images(order, from, to, Augmentation.NONE, null));
      float[] out = run(x).floats();
      int width = out.length / (to - from);
      if (all == null) {
        all = new float[order.length * width];
      }
      System.arraycopy(out, 0, all, from * width, out.length);
    }
    return all;
  }

  @Override
  public void close() {
    sessions.forEach(OnnxSession::close);
  }
}
