package dev.shoal.bench.codecs;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.bench.ResultTable;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.runtime.codec.RawCodec;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.codec.choice.CodecChooser;
import dev.shoal.runtime.codec.choice.CodecPolicy;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.recipes.FashionData;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Runs the codec chooser of {@code shoal policy} on each model with the first Fashion-MNIST test
 * images, and times every codec. Target (issue 14): at least 5x fewer bytes than fp32 over all cuts
 * at top-1 agreement of at least 99% with the unsplit model.
 */
public final class CodecBench {
  public static final double TARGET_RATIO = 5;
  public static final double TARGET_AGREEMENT = 0.99;

  /**
   * A model to choose codecs for.
   *
   * @param shape what makes it different (residual, depthwise, dense concatenation, plain)
   * @param channels input channels it takes (the grayscale image is repeated to fill them)
   */
  public record Model(String name, String shape, ModelProto onnx, int channels) {}

  public record Config(List<Model> models, Path data, int inputs, int stages, double maxAgreementDrop,
      int speedMillis) {}

  private CodecBench() {}

  public static void run(Config config, Path out, PrintStream log) throws IOException {
    FashionData data = FashionData.load(config.data(), 1, log::println);
    int n = Math.min(config.inputs(), data.test().data().count());
    float[] pixels = data.test().images(data.test().sequentialOrder(), 0, n, Augmentation.NONE, null);
    ByteBuffer labelBytes = ByteBuffer.allocate(n * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      labelBytes.putLong(data.test().data().label(i));
    }
    TensorData labels = new TensorData("labels", DType.INT64, new long[] {n}, labelBytes.array());
    int rows = data.rows();
    int cols = data.cols();

    ResultTable bytes = new ResultTable("model", "cut", "after", "codec", "bytes", "fp32/bytes", "agreementAlone",
        "verdict", "chosen");
    ResultTable summary = new ResultTable("model", "shape", "cuts", "codecs", "fp32Bytes", "bytes", "fp32/bytes",
        "agreement", "accuracy", "unsplitAccuracy", "target");
    Files.createDirectories(out);
    for (Model m : config.models()) {
      log.println("codecs: " + m.name() + " (" + m.shape() + ")");
      TensorData input = TensorData.ofFloats("input", new long[] {n, m.channels(), rows, cols},
          repeatChannels(pixels, n, m.channels(), rows * cols));
      ModelProfile profile = ModelProfile.of(ModelGraph.of(m.onnx(), m.name()));
      int[] cuts = ModelSplitter.balancedCuts(profile, config.stages());
      Split split = ModelSplitter.split(profile, cuts);
      long t0 = System.nanoTime();
      CodecPolicy policy = CodecChooser.choose(m.onnx().toByteArray(), split, input, labels,
          CodecChooser.Options.of(config.maxAgreementDrop()), line -> log.println("  " + line));
      log.printf(Locale.ROOT, "  chosen in %.1f s (load average %.2f)%n", (System.nanoTime() - t0) / 1e9, load());
      Files.writeString(out.resolve(m.name() + "-policy.json"), policy.toJson());
      for (int k = 0; k < policy.cuts().size(); k++) {
        CodecPolicy.Cut c = policy.cuts().get(k);
        for (CodecPolicy.Candidate t : c.tried()) {
          bytes.row(m.name(), k, c.after(), t.codec(), Math.round(t.encodedBytes()),
              round(c.rawBytes() / t.encodedBytes(), 2), t.agreement() == null ? "" : round(t.agreement(), 4),
              t.verdict(), t.codec().equals(c.codec()) ? "yes" : "");
        }
      }
      double ratio = policy.rawBytes() / policy.encodedBytes();
      boolean met = ratio >= TARGET_RATIO && policy.agreement() >= TARGET_AGREEMENT;
      summary.row(m.name(), m.shape(), policy.cuts().size(),
          String.join(" ", policy.cuts().stream().map(CodecPolicy.Cut::codec).toList()), policy.rawBytes(),
          Math.round(policy.encodedBytes()), round(ratio, 2), round(policy.agreement(), 4),
          round(policy.accuracy(), 4), round(policy.baselineAccuracy(), 4), met ? "met" : "MISSED");
    }
    for (ResultTable t : List.of(bytes, summary)) {
      t.meta("inputs", n + " first Fashion-MNIST test images").meta("stages", config.stages())
          .meta("maxAgreementDrop", config.maxAgreementDrop())
          .meta("target", ">= 5x fewer bytes than fp32 over all cuts at >= 0.99 top-1 agreement")
          .meta("bytes", "per inference: each input encoded as its own request, averaged")
          .meta("loadAverage", load());
    }
    log.println();
    log.println("bytes per inference at each cut, per codec (fewest first; agreementAlone: that codec at that cut only):");
    bytes.print(log);
    bytes.writeCsv(out.resolve("codec-bytes.csv"));
    bytes.writeJson(out.resolve("codec-bytes.json"));
    log.println();
    log.println("chosen policy per model (target: >= 5x fewer bytes than fp32 at >= 0.99 agreement):");
    summary.print(log);
    summary.writeCsv(out.resolve("summary.csv"));
    summary.writeJson(out.resolve("summary.json"));

    ResultTable speed = speed(config.speedMillis());
    log.println();
    log.printf(Locale.ROOT, "codec speed on a ReLU-like float32 [1, 64, 28, 28] tensor (60%% zeros), single thread, "
        + "timed loop (not JMH), best of 3, MB/s of float32 data (load average %.2f):%n", load());
    speed.print(log);
    speed.writeCsv(out.resolve("codec-speed.csv"));
    speed.writeJson(out.resolve("codec-speed.json"));
    log.println("-> " + out);
  }

  private static float[] repeatChannels(float[] pixels, int n, int channels, int plane) {
    if (channels == 1) {
      return pixels;
    }
    float[] out = new float[n * channels * plane];
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < channels; c++) {
        System.arraycopy(pixels, i * plane, out, (i * channels + c) * plane, plane);
      }
    }
    return out;
  }

  /**
   * Encode and decode MB/s of every codec: all codecs warm up together first (so the JIT has
   * compiled them all), then each operation's best of three timed runs of about {@code millis}
   * counts (the best, because other processes share the machine).
   */
  static ResultTable speed(int millis) {
    Random r = new Random(1);
    int size = 64 * 28 * 28;
    float[] v = new float[size];
    for (int i = 0; i < size; i++) {
      v[i] = r.nextDouble() < 0.6 ? 0f : (float) Math.abs(r.nextGaussian() * 2);
    }
    TensorData t = TensorData.ofFloats("act", new long[] {1, 64, 28, 28}, v);
    List<TensorCodec> codecs = TensorCodec.all().stream().filter(c -> !(c instanceof RawCodec)).toList();
    for (int round = 0; round < 3; round++) {
      for (TensorCodec c : codecs) {
        rate(t.data().length, Math.max(1, millis / 3), () -> c.roundTrip(t));
      }
    }
    ResultTable table = new ResultTable("codec", "fp32/bytes", "encodeMBps", "decodeMBps");
    for (TensorCodec c : codecs) {
      TensorCodec.Encoded e = c.encode(t);
      TensorCodec d = TensorCodec.of(e.codec(), e.entropy());
      double enc = 0;
      double dec = 0;
      for (int k = 0; k < 3; k++) {
        enc = Math.max(enc, rate(t.data().length, millis, () -> c.encode(t)));
        dec = Math.max(dec, rate(t.data().length, millis, () -> d.decode("act", DType.FLOAT, t.shape(), e.payload())));
      }
      table.row(c.label(), round(t.data().length / (double) e.payload().length, 2), round(enc, 0), round(dec, 0));
    }
    table.meta("tensor", "float32 [1, 64, 28, 28], 60% zeros, the rest |N(0, 2)|").meta("timing",
        "single-thread timed loop, all codecs warmed up first, best of 3 runs; not JMH; raw is left out "
            + "(it copies nothing)").meta("loadAverage", load());
    return table;
  }

  private static double rate(int bytes, int millis, Runnable op) {
    long start = System.nanoTime();
    long end = start + millis * 1_000_000L;
    int runs = 0;
    long now;
    do {
      op.run();
      runs++;
      now = System.nanoTime();
    } while (now < end);
    return (double) bytes * runs / ((now - start) / 1e9) / 1e6;
  }

  private static Object round(Double v, int digits) {
    if (v == null) {
      return "";
    }
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }

  private static double load() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }
}
