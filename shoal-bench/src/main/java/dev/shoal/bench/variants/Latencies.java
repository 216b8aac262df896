package dev.shoal.bench.variants;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxSession;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Batch-1 ONNX Runtime response time of several models (one intra-op thread each), timed in
 * interleaved rounds — one run of every model per round — so drift in machine load hits all alike.
 */
public final class Latencies {

  private Latencies() {}

  /** Median milliseconds per model file. */
  public static Map<Path, Double> medianMillis(List<Path> files, TensorData oneImage, int warmup, int rounds) {
    Map<Path, OnnxSession> sessions = new LinkedHashMap<>();
    try {
      for (Path f : files) {
        sessions.put(f, OnnxSession.open(f, new OnnxSession.Options(1, false)));
      }
      Map<String, TensorData> feed = Map.of(oneImage.name(), oneImage);
      for (int i = 0; i < warmup; i++) {
        sessions.values().forEach(s -> s.run(feed));
      }
      Map<Path, double[]> times = new LinkedHashMap<>();
      files.forEach(f -> times.put(f, new double[rounds]));
      for (int r = 0; r < rounds; r++) {
        for (var e : sessions.entrySet()) {
          long start = System.nanoTime();
          e.getValue().run(feed);
          times.get(e.getKey())[r] = (System.nanoTime() - start) / 1e6;
        }
      }
      Map<Path, Double> medians = new LinkedHashMap<>();
      times.forEach((f, t) -> {
        Arrays.sort(t);
        medians.put(f, t[rounds / 2]);
      });
      return medians;
    } finally {
      sessions.values().forEach(OnnxSession::close);
    }
  }
}
