package dev.shoal.model.cost;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.TensorData;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.ort.OnnxSession;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Measured seconds per node for one sample, from ONNX Runtime's own profiler (the JSON trace of
 * {@code SessionOptions.enableProfiling}): the model runs {@code runs} times on seeded random
 * inputs and each node's time is the median of its kernel events.
 *
 * <p>ONNX Runtime fuses nodes (Conv + BatchNormalization + activation, Conv + residual Add) and
 * names a fused kernel after the group's output tensor. An event is matched to the node of that
 * name, or to the producer of the tensor its name starts with; when that node's op differs from the
 * kernel's op, the time goes to the nearest upstream node with the kernel's op (the Conv that
 * absorbed the others). Fused-away nodes measure 0; kernels of ONNX Runtime's own layout nodes
 * (ReorderInput/Output) belong to no node and are reported as unattributed.
 */
public final class LayerTimer {

  /** Seconds per node position, plus the time of kernels no node accounts for. */
  public record LayerTimes(double[] seconds, double unattributedSeconds, int runs) {
    public double totalSeconds() {
      return Arrays.stream(seconds).sum() + unattributedSeconds;
    }
  }

  private static final String SUFFIX = "_kernel_time";

  private LayerTimer() {}

  public static LayerTimes measure(ModelGraph graph, int runs, int intraOpThreads) {
    if (runs < 1) {
      throw new IllegalArgumentException("runs must be >= 1, got " + runs);
    }
    Map<String, TensorData> inputs = SampleInputs.random(graph, 1, 1);
    Path trace;
    try (OnnxSession session = OnnxSession.open(graph.orderedModel().toByteArray(),
        new OnnxSession.Options(intraOpThreads, true))) {
      for (int r = 0; r < runs; r++) {
        session.run(inputs);
      }
      trace = session.endProfiling();
    }
    try {
      JsonNode events = new ObjectMapper().readTree(trace.toFile());
      return attribute(graph, events, runs);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read ONNX Runtime profile " + trace, e);
    } finally {
      try {
        Files.deleteIfExists(trace);
      } catch (IOException ignored) {
        // a left-over trace in the temp directory is harmless
      }
    }
  }

  private static LayerTimes attribute(ModelGraph graph, JsonNode events, int runs) {
    Map<String, Integer> byName = new HashMap<>();
    graph.nodes().forEach(n -> byName.put(n.name(), n.position()));
    Map<Integer, List<Double>> samples = new HashMap<>();
    double unattributed = 0;
    for (JsonNode e : events) {
      String name = e.path("name").asText();
      if (!"Node".equals(e.path("cat").asText()) || !name.endsWith(SUFFIX)) {
        continue;
      }
      double seconds = e.path("dur").asDouble() / 1e6;
      int position = resolve(graph, byName, name.substring(0, name.length() - SUFFIX.length()),
          e.path("args").path("op_name").asText());
      if (position < 0) {
        unattributed += seconds;
      } else {
        samples.computeIfAbsent(position, k -> new ArrayList<>()).add(seconds);
      }
    }
    double[] seconds = new double[graph.nodes().size()];
    // events per node: one per run for a plain node, more where several kernels fold into one node
    for (Map.Entry<Integer, List<Double>> s : samples.entrySet()) {
      List<Double> v = s.getValue();
      v.sort(null);
      int perRun = Math.max(1, v.size() / runs);
      seconds[s.getKey()] = v.get(v.size() / 2) * perRun;
    }
    return new LayerTimes(seconds, unattributed / runs, runs);
  }

  private static int resolve(ModelGraph graph, Map<String, Integer> byName, String kernel, String op) {
    Integer position = byName.get(kernel);
    if (position == null) {
      // fused kernels are named after their output tensor plus a suffix such as "_nchwc"
      for (int cut = kernel.length(); cut > 0 && position == null; cut = kernel.lastIndexOf('_', cut - 1)) {
        String prefix = kernel.substring(0, cut);
        int producer = graph.tensors().containsKey(prefix) ? graph.producer(prefix) : -1;
        position = producer >= 0 ? Integer.valueOf(producer) : byName.get(prefix);
      }
    }
    if (position == null) {
      return -1;
    }
    return graph.node(position).opType().equals(op) ? position : nearestUpstream(graph, position, op);
  }

  /** The nearest node upstream of {@code start} with op {@code op} (the latest on ties), or start. */
  private static int nearestUpstream(ModelGraph graph, int start, String op) {
    Deque<Integer> frontier = new ArrayDeque<>(List.of(start));
    Set<Integer> seen = new HashSet<>(frontier);
    for (int depth = 0; depth < 4 && !frontier.isEmpty(); depth++) {
      Deque<Integer> next = new ArrayDeque<>();
      int found = -1;
      for (int p : frontier) {
        for (String in : graph.node(p).inputs()) {
          int producer = in.isEmpty() ? -1 : graph.producer(in);
          if (producer >= 0 && seen.add(producer)) {
            next.add(producer);
            if (graph.node(producer).opType().equals(op)) {
              found = Math.max(found, producer);
            }
          }
        }
      }
      if (found >= 0) {
        return found;
      }
      frontier = next;
    }
    return start;
  }
}
