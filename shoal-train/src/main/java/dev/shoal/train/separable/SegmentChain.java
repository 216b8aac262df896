package dev.shoal.train.separable;

import dev.shoal.model.family.SeparableManifest;
import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.data.BatchMaker;
import dev.shoal.train.export.OnnxModels;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs an exported separable network the way the devices would, on one machine: every device's
 * segments in ONNX Runtime, each exchanged chunk passed to its receiver after the edge's codec
 * (simulated exactly as in training, {@link LinkCodec#fakeQuantise(float[], int, int, int)}), the
 * partial logits summed. What the offline accuracy of a policy with codecs is measured on.
 */
public final class SegmentChain implements AutoCloseable {

  private final SeparableManifest manifest;
  private final Map<String, OnnxSession> sessions = new LinkedHashMap<>();
  private final int segmentsPerDevice;

  public SegmentChain(Path dir) throws java.io.IOException {
    this.manifest = SeparableManifest.read(dir);
    for (SeparableManifest.Segment s : manifest.segments()) {
      sessions.put(s.id(), OnnxSession.open(dir.resolve(s.file()), OnnxSession.Options.DEFAULT));
    }
    this.segmentsPerDevice = (int) manifest.segments().stream().filter(s -> s.device() == 0).count();
  }

  public SeparableManifest manifest() {
    return manifest;
  }

  /** Logits {@code [n, classes]} for one batch of images {@code [n, 1, rows, cols]}. */
  public float[] logits(TensorData images) {
    int groups = manifest.groups();
    int n = (int) images.shape()[0];
    Map<String, TensorData> state = new HashMap<>();
    Map<String, TensorData> received = new HashMap<>();
    float[] logits = new float[n * manifest.classes()];
    for (int s = 0; s < segmentsPerDevice; s++) {
      Map<String, TensorData> sent = new HashMap<>();
      for (int g = 0; g < groups; g++) {
        String id = "d" + g + "s" + s;
        Map<String, TensorData> feeds =
            s == 0
                ? Map.of(OnnxModels.INPUT, images)
                : Map.of(
                    SeparableManifest.STATE_IN, state.get(id).withName(SeparableManifest.STATE_IN),
                    SeparableManifest.RECEIVED, received.get(id));
        Map<String, TensorData> out = sessions.get(id).run(feeds);
        if (s == segmentsPerDevice - 1) {
          float[] partial = out.get(SeparableManifest.PARTIAL_LOGITS).floats();
          for (int i = 0; i < logits.length; i++) {
            logits[i] += partial[i];
          }
        } else {
          state.put("d" + g + "s" + (s + 1), out.get(SeparableManifest.STATE_OUT));
          sent.put(id, out.get(SeparableManifest.SEND));
        }
      }
      for (SeparableManifest.Exchange e : exchangesFrom(s)) {
        TensorData chunk = sent.get(e.from());
        long[] shape = chunk.shape();
        float[] values = chunk.floats();
        LinkCodec.parse(e.codec()).fakeQuantise(values, n, (int) shape[1], (int) (shape[2] * shape[3]));
        received.put(e.to(), TensorData.ofFloats(SeparableManifest.RECEIVED, shape, values));
      }
    }
    return logits;
  }

  /** Logits for every image of {@code data}, in batches of {@code batch}. */
  public float[] logits(BatchMaker data, int batch) {
    int[] order = data.sequentialOrder();
    int rows = data.data().rows();
    int cols = data.data().cols();
    float[] all = new float[order.length * manifest.classes()];
    for (int from = 0; from < order.length; from += batch) {
      int to = Math.min(order.length, from + batch);
      TensorData x =
          TensorData.ofFloats(
              OnnxModels.INPUT, new long[] {to - from, 1, rows, cols}, data.images(order, from, to, Augmentation.NONE, null));
      float[] l = logits(x);
      System.arraycopy(l, 0, all, from * manifest.classes(), l.length);
    }
    return all;
  }

  private List<SeparableManifest.Exchange> exchangesFrom(int segment) {
    java.util.Set<String> senders = new java.util.HashSet<>();
    for (int g = 0; g < manifest.groups(); g++) {
      senders.add("d" + g + "s" + segment);
    }
    return manifest.exchanges().stream().filter(e -> senders.contains(e.from())).toList();
  }

  @Override
  public void close() {
    sessions.values().forEach(OnnxSession::close);
  }
}
