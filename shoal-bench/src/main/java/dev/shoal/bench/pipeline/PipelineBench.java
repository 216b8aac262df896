package dev.shoal.bench.pipeline;

import dev.shoal.bench.Percentiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.model.chart.LineChart;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.bench.BenchCerts;
import dev.shoal.runtime.pipeline.PreparedModel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code shoal bench pipeline}: (1) transport overhead per hop against a plain gRPC echo, (2)
 * measured pipeline throughput against the cost model's prediction for 1..n workers, on loopback
 * and in network namespaces with tbf-shaped links. Prints tables; writes CSV, JSON and SVG plots.
 */
public final class PipelineBench {

  /**
   * @param deviceMs the emulated device of worker i needs this many ms for the whole model: it is
   *     made {@code deviceMs[i] / (this host's ms)} times slower, so the devices, and the cost
   *     model's prediction, do not change with how busy the host was when it profiled the model
   * @param rates tbf rates (Mbit/s) to measure in namespaces; empty for loopback only
   */
  public record Options(Path out, PipelineSolver solver, double[] deviceMs, int[] rates, int requests, int window,
      int transportSamples, int modelResolution) {
    public Options {
      if (deviceMs.length == 0 || java.util.Arrays.stream(deviceMs).anyMatch(ms -> !(ms > 0))) {
        throw new IllegalArgumentException("--device-ms: give one value > 0 per worker, got "
            + java.util.Arrays.toString(deviceMs));
      }
    }
  }

  private PipelineBench() {}

  public static void run(Options o, PrintStream log) throws Exception {
    Path out = Files.createDirectories(o.out());
    Path work = Files.createDirectories(out.resolve("work"));
    List<String> nodes = new ArrayList<>(List.of("hop0", "hop1", "hop2"));
    for (int i = 0; i < o.deviceMs().length; i++) {
      nodes.add("w" + i);
    }
    Path certs = BenchCerts.provision(work.resolve("certs"), nodes);

    log.println("== transport overhead per hop (loopback, one request at a time)");
    int[] sizes = {4 * 1024, 100 * 1024, 1024 * 1024};
    List<TransportOverhead.Row> transport = TransportOverhead.run(work, sizes, o.transportSamples(), certs, log);
    printTransport(transport, sizes, log);

    Path modelFile = work.resolve("mobilenetv2.onnx");
    OnnxModelIO.write(ModelZoo.mobileNetV2(o.modelResolution(), 0.5, 10, 1), modelFile);
    PreparedModel model = PreparedModel.of(Files.readAllBytes(modelFile), "mobilenetv2", modelFile.toString(), 30);
    ModelProfile profile = model.profile();
    double[] nodeSeconds = model.nodeSeconds();
    log.printf("%n== throughput vs cost model: MobileNetV2 %dx%d width 0.5, %d nodes, %.1f M MACs%n",
        o.modelResolution(), o.modelResolution(), profile.nodes().size(), profile.totalMacs() / 1e6);
    log.printf("   on this host, 1 thread: %.2f ms per sample in profiled kernels, %.2f ms per whole run call"
        + " (node times are the kernel times scaled to the latter)%n",
        Arrays.stream(model.kernelSeconds()).sum() * 1e3, model.runSeconds() * 1e3);
    double hostMs = model.runSeconds() * 1e3;
    double[] slowdowns = Arrays.stream(o.deviceMs()).map(ms -> Math.max(1.0, ms / hostMs)).toArray();
    log.printf("   emulated devices: %s ms per inference, so worker i is %s times slower than this host (it holds"
        + " each frame for K x its stage's profiled compute here)%n", Arrays.toString(o.deviceMs()),
        Arrays.toString(Arrays.stream(slowdowns).map(k -> Math.round(k * 10) / 10.0).toArray()));
    List<PipelineThroughput.Network> networks = new ArrayList<>();
    networks.add(new PipelineThroughput.Network("loopback", 0));
    for (int rate : o.rates()) {
      networks.add(new PipelineThroughput.Network("tbf-" + rate + "mbit", rate));
    }
    List<PipelineThroughput.Row> rows = new ArrayList<>();
    for (PipelineThroughput.Network net : networks) {
      rows.addAll(PipelineThroughput.run(net, modelFile, profile, nodeSeconds, slowdowns, o.solver(),
          o.requests(), o.window(), certs, work, log));
    }
    printThroughput(rows, log);
    write(out, transport, rows, o, nodeSeconds, slowdowns);
    plot(out, rows, networks);
    log.println("\nwrote " + out.resolve("throughput.csv") + ", " + out.resolve("transport.csv") + ", "
        + out.resolve("results.json") + ", " + out.resolve("throughput.svg"));
  }

  private static void printTransport(List<TransportOverhead.Row> rows, int[] sizes, PrintStream log) {
    log.printf("%n%-14s %10s %12s %12s%n", "path", "bytes", "p50 RTT ms", "p99 RTT ms");
    for (TransportOverhead.Row r : rows) {
      log.printf("%-14s %10d %12.3f %12.3f%n", r.path(), r.bytes(), r.rttMillis().p50(), r.rttMillis().p99());
    }
    log.printf("%n%10s %16s %20s %20s%n", "bytes", "echo one-way p50", "shoal stage p50 add", "extra hop p50 (p99)");
    for (int size : sizes) {
      Percentiles echo = find(rows, "grpc-echo", size);
      Percentiles one = find(rows, "shoal-1-stage", size);
      Percentiles two = find(rows, "shoal-2-stage", size);
      log.printf("%10d %13.3f ms %17.3f ms %11.3f (%.3f) ms%n", size, echo.p50() / 2, one.p50() - echo.p50(),
          two.p50() - one.p50(), two.p99() - one.p99());
    }
  }

  private static Percentiles find(List<TransportOverhead.Row> rows, String path, int size) {
    return rows.stream().filter(r -> r.path().equals(path) && r.bytes() == size).findFirst().orElseThrow()
        .rttMillis();
  }

  private static void printThroughput(List<PipelineThroughput.Row> rows, PrintStream log) {
    log.printf("%n%-13s %7s %6s %11s %11s %7s %9s %9s %9s  %s%n", "network", "workers", "stages", "predicted/s",
        "measured/s", "ratio", "p50 ms", "p99 ms", "ort ms", "bottleneck (cost model)");
    for (PipelineThroughput.Row r : rows) {
      log.printf("%-13s %7d %6d %11.1f %11.1f %6.0f%% %9.1f %9.1f %9.3f  %s%n", r.network(), r.workers(), r.stages(),
          r.predicted(), r.measured(), 100 * r.ratio(), r.p50Ms(), r.p99Ms(), r.hostOrtMsPerInference(), r.bottleneck());
    }
    log.println("predicted: the cost model (PipelineCost) on the plan; ratio = measured / predicted; ort ms: ONNX"
        + " Runtime time per inference on this host during the run, all stages (profiled whole model: see above)");
  }

  private static void write(Path out, List<TransportOverhead.Row> transport, List<PipelineThroughput.Row> rows,
      Options o, double[] nodeSeconds, double[] slowdowns) throws IOException {
    StringBuilder t = new StringBuilder("path,bytes,p50_rtt_ms,p99_rtt_ms,samples\n");
    for (TransportOverhead.Row r : transport) {
      t.append(String.format("%s,%d,%.4f,%.4f,%d%n", r.path(), r.bytes(), r.rttMillis().p50(), r.rttMillis().p99(),
          r.rttMillis().count()));
    }
    writeAside(out.resolve("transport.csv"), t.toString());
    StringBuilder c = new StringBuilder(
        "network,workers,stages,predicted_per_s,host_ort_ms_per_inference,measured_per_s,ratio,p50_ms,p99_ms,errors,bottleneck,plan,bytes_per_inference_per_link\n");
    for (PipelineThroughput.Row r : rows) {
      c.append(String.format("%s,%d,%d,%.2f,%.2f,%.2f,%.3f,%.2f,%.2f,%d,%s,\"%s\",\"%s\"%n", r.network(), r.workers(),
          r.stages(), r.predicted(), r.hostOrtMsPerInference(), r.measured(), r.ratio(), r.p50Ms(), r.p99Ms(), r.errors(), r.bottleneck(),
          r.plan(), r.bytesPerLink()));
    }
    writeAside(out.resolve("throughput.csv"), c.toString());
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = json.createObjectNode();
    root.put("solver", o.solver().name());
    root.put("requests", o.requests());
    root.put("window", o.window());
    ArrayNode ms = root.putArray("deviceMs");
    Arrays.stream(o.deviceMs()).forEach(ms::add);
    ArrayNode sd = root.putArray("slowdowns");
    Arrays.stream(slowdowns).forEach(sd::add);
    root.put("hostMillisPerSample", Arrays.stream(nodeSeconds).sum() * 1e3);
    root.put("timing", "node time = ONNX Runtime kernel time + equal share of whole-run overhead");
    root.set("transport", json.valueToTree(transport));
    root.set("throughput", json.valueToTree(rows));
    writeAside(out.resolve("results.json"), json.writeValueAsString(root));
  }

  private static void plot(Path out, List<PipelineThroughput.Row> rows, List<PipelineThroughput.Network> networks) {
    LineChart chart = new LineChart("Pipeline throughput: measured vs cost model", "workers", "inferences/s", null);
    for (PipelineThroughput.Network net : networks) {
      List<PipelineThroughput.Row> r = rows.stream().filter(x -> x.network().equals(net.name())).toList();
      double[] x = r.stream().mapToDouble(PipelineThroughput.Row::workers).toArray();
      chart.add(net.name() + " predicted", x, r.stream().mapToDouble(PipelineThroughput.Row::predicted).toArray(),
          LineChart.Axis.LEFT);
      chart.add(net.name() + " measured", x, r.stream().mapToDouble(PipelineThroughput.Row::measured).toArray(),
          LineChart.Axis.LEFT);
    }
    chart.writeSvg(out.resolve("throughput.svg"), 900, 500);
  }

  private static void writeAside(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
