package dev.shoal.cli;

import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.io.Npy;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.split.Split;
import dev.shoal.model.split.StageChain;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.codec.choice.CodedStageChain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal run}: run a whole model or a split's chained stages on .npy inputs. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {"Run a model (MODEL.onnx) or its stages chained (SPLIT_DIR from `shoal split` or",
        "`shoal policy`) with ONNX Runtime on .npy inputs, and print the time. A split's cut codecs are",
        "applied as the runtime applies them (the input file is one request; the tensors then pass",
        "through the Java heap between stages, which the time includes)."})
public final class RunCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "MODEL.onnx|SPLIT_DIR", description = "what to run")
  Path target;

  @Option(names = "--input", required = true, paramLabel = "[NAME=]FILE.npy",
      description = "an input tensor; NAME= may be left out when the model has one input")
  List<String> inputs;

  @Option(names = "--output", paramLabel = "FILE.npy", description = "write the first model output here")
  Path output;

  @Option(names = "--threads", defaultValue = "1",
      description = "ONNX Runtime intra-op threads per session (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--repeat", defaultValue = "1",
      description = "run this many times and also print the median (default: ${DEFAULT-VALUE})")
  int repeat;

  @Override
  public Integer call() throws IOException {
    if (repeat < 1) {
      throw new IllegalArgumentException("--repeat must be >= 1, got " + repeat);
    }
    OnnxSession.Options options = new OnnxSession.Options(threads, false);
    long t0 = System.nanoTime();
    if (Files.isDirectory(target)) {
      Split split = Split.readFrom(target);
      if (split.cutCodecs().isEmpty()) { // all raw: chain inside ONNX Runtime, no copies through the heap
        try (StageChain chain = StageChain.open(split, options)) {
          return execute(split.stages().size() + " chained stages", split.modelInputs(), chain::run, t0);
        }
      }
      try (CodedStageChain chain = CodedStageChain.open(split, options)) {
        String what = split.stages().size() + " chained stages, cut codecs "
            + chain.cutCodecs().stream().map(TensorCodec::label).toList();
        return execute(what, split.modelInputs(), chain::run, t0);
      }
    }
    byte[] bytes = OnnxModelIO.read(target).toByteArray();
    try (OnnxSession session = OnnxSession.open(bytes, options)) {
      return execute("whole model", session.inputs().stream().map(TensorSpec::name).toList(),
          session::run, t0);
    }
  }

  private int execute(String what, List<String> inputNames,
      Function<Map<String, TensorData>, Map<String, TensorData>> run, long loadStart) throws IOException {
    double loadMs = (System.nanoTime() - loadStart) / 1e6;
    Map<String, TensorData> feeds = readInputs(inputNames);
    List<Double> ms = new ArrayList<>();
    Map<String, TensorData> result = null;
    for (int i = 0; i < repeat; i++) {
      long t = System.nanoTime();
      result = run.apply(feeds);
      ms.add((System.nanoTime() - t) / 1e6);
    }
    System.out.printf(Locale.ROOT, "%s: %s, loaded in %.1f ms, first run %.3f ms", target, what, loadMs, ms.get(0));
    if (repeat > 1) {
      List<Double> sorted = ms.stream().sorted().toList();
      System.out.printf(Locale.ROOT, ", median of %d runs %.3f ms", repeat, sorted.get(repeat / 2));
    }
    System.out.println();
    for (TensorData t : result.values()) {
      System.out.println("  " + t.name() + " " + t.dtype() + Arrays.toString(t.shape()) + argmax(t));
    }
    if (output != null) {
      TensorData first = result.values().iterator().next();
      Npy.write(first, output);
      System.out.println("  " + first.name() + " written to " + output);
    }
    return 0;
  }

  private Map<String, TensorData> readInputs(List<String> names) throws IOException {
    Map<String, TensorData> feeds = new LinkedHashMap<>();
    for (String spec : inputs) {
      int eq = spec.indexOf('=');
      String name;
      Path file;
      if (eq > 0) {
        name = spec.substring(0, eq);
        file = Path.of(spec.substring(eq + 1));
        if (!names.contains(name)) {
          throw new IllegalArgumentException("--input " + spec + ": the model has no input '" + name
              + "' (inputs: " + names + ")");
        }
      } else if (names.size() == 1) {
        name = names.get(0);
        file = Path.of(spec);
      } else {
        throw new IllegalArgumentException("--input " + spec + ": the model has inputs " + names
            + ", say which one with NAME=FILE.npy");
      }
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException("--input " + spec + ": no such file " + file);
      }
      feeds.put(name, Npy.read(file).withName(name));
    }
    for (String name : names) {
      if (!feeds.containsKey(name)) {
        throw new IllegalArgumentException("no --input for model input '" + name + "'");
      }
    }
    return feeds;
  }

  private static String argmax(TensorData t) {
    if (t.dtype() != dev.shoal.model.DType.FLOAT || t.shape().length != 2 || t.shape()[0] < 1) {
      return "";
    }
    float[] v = t.floats();
    int cols = (int) t.shape()[1];
    int best = 0;
    for (int i = 1; i < cols; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return " argmax(row 0)=" + best;
  }
}
