package dev.shoal.bench.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.bench.BenchCerts;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.runtime.pipeline.PreparedModel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What mutual TLS costs on the peer links, side by side with plaintext links on loopback (the
 * only place plaintext is allowed): the per-hop round trip of one tensor (4 KB, 100 KB, 1 MB)
 * and the throughput of MobileNetV2 pipelines over 1..n workers without emulated slowdown (so
 * transport and encryption show rather than hide behind compute). The two modes alternate, round
 * after round, so load from other processes falls on both alike.
 */
public final class TlsOverheadBench {
  private static final int[] SIZES = {4 * 1024, 100 * 1024, 1024 * 1024};

  public record Options(Path out, PipelineSolver solver, int workers, int rounds, int requests, int window,
      int transportSamples, int modelResolution) {}

  /** One measurement of one mode. */
  record Transport(String links, int round, String path, int bytes, double p50Ms, double p99Ms) {}

  record Throughput(String links, int round, int workers, int stages, double perSecond, double p50Ms, double p99Ms,
      int errors) {}

  private TlsOverheadBench() {}

  public static void run(Options o, PrintStream log) throws Exception {
    Path out = Files.createDirectories(o.out());
    Path work = Files.createDirectories(out.resolve("work"));
    List<String> nodes = new ArrayList<>(List.of("hop0", "hop1", "hop2"));
    for (int i = 0; i < o.workers(); i++) {
      nodes.add("w" + i);
    }
    Path certs = BenchCerts.provision(work.resolve("certs"), nodes);
    Path modelFile = work.resolve("mobilenetv2.onnx");
    OnnxModelIO.write(ModelZoo.mobileNetV2(o.modelResolution(), 0.5, 10, 1), modelFile);
    PreparedModel model = PreparedModel.of(Files.readAllBytes(modelFile), "mobilenetv2", modelFile.toString(), 30);
    ModelProfile profile = model.profile();
    double[] slowdowns = new double[o.workers()];
    Arrays.fill(slowdowns, 1.0);
    List<Transport> transport = new ArrayList<>();
    List<Throughput> throughput = new ArrayList<>();
    for (int round = 0; round < o.rounds(); round++) {
      List<String> order = round % 2 == 0 ? List.of("plaintext", "tls") : List.of("tls", "plaintext");
      for (String links : order) {
        Path linkCerts = links.equals("tls") ? certs : null;
        log.printf(Locale.ROOT, "== round %d of %d, %s links%n", round + 1, o.rounds(), links);
        for (TransportOverhead.Row r : TransportOverhead.run(work, SIZES, o.transportSamples(), linkCerts, log)) {
          transport.add(new Transport(links, round, r.path(), r.bytes(), r.rttMillis().p50(), r.rttMillis().p99()));
        }
        for (PipelineThroughput.Row r : PipelineThroughput.run(new PipelineThroughput.Network("loopback", 0), modelFile,
            profile, model.nodeSeconds(), slowdowns, o.solver(), o.requests(), o.window(), linkCerts, work, log)) {
          throughput.add(new Throughput(links, round, r.workers(), r.stages(), r.measured(), r.p50Ms(), r.p99Ms(),
              r.errors()));
        }
      }
    }
    String table = table(transport, throughput, o);
    log.print(table);
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = json.createObjectNode();
    root.put("what", "mutual TLS 1.3 vs plaintext peer links on loopback; medians over rounds");
    root.put("rounds", o.rounds());
    root.put("requests", o.requests());
    root.put("window", o.window());
    root.put("transportSamples", o.transportSamples());
    root.put("model", "MobileNetV2 " + o.modelResolution() + "x" + o.modelResolution() + " width 0.5, no emulated slowdown");
    root.put("loadAverageAtEnd", loadAverage());
    root.set("transport", json.valueToTree(transport));
    root.set("throughput", json.valueToTree(throughput));
    Files.writeString(out.resolve("results.json"), json.writeValueAsString(root), StandardCharsets.UTF_8);
    Files.writeString(out.resolve("table.txt"), table, StandardCharsets.UTF_8);
    log.println("wrote " + out.resolve("results.json") + " and " + out.resolve("table.txt"));
  }

  private static String table(List<Transport> transport, List<Throughput> throughput, Options o) {
    StringBuilder t = new StringBuilder(String.format(Locale.ROOT,
        "%nround trip of one tensor, one request at a time (median over %d rounds of each round's p50)%n", o.rounds()));
    t.append(String.format(Locale.ROOT, "%-14s %9s %13s %13s %11s%n", "path", "bytes", "plain p50 ms", "TLS p50 ms",
        "TLS adds"));
    for (String path : List.of("shoal-1-stage", "shoal-2-stage")) {
      for (int size : SIZES) {
        double plain = median(transport.stream().filter(r -> r.links().equals("plaintext") && r.path().equals(path)
            && r.bytes() == size).mapToDouble(Transport::p50Ms).toArray());
        double tls = median(transport.stream().filter(r -> r.links().equals("tls") && r.path().equals(path)
            && r.bytes() == size).mapToDouble(Transport::p50Ms).toArray());
        t.append(String.format(Locale.ROOT, "%-14s %9d %13.3f %13.3f %+10.1f%%%n", path, size, plain, tls,
            100 * (tls / plain - 1)));
      }
    }
    t.append(String.format(Locale.ROOT, "%npipeline throughput, MobileNetV2 %dx%d, no emulated slowdown, window %d "
        + "(median over rounds)%n", o.modelResolution(), o.modelResolution(), o.window()));
    t.append(String.format(Locale.ROOT, "%7s %14s %12s %10s %16s %14s%n", "workers", "plain inf/s", "TLS inf/s",
        "TLS/plain", "plain p50 ms", "TLS p50 ms"));
    for (int k = 1; k <= o.workers(); k++) {
      int workers = k;
      double plain = median(throughput.stream().filter(r -> r.links().equals("plaintext") && r.workers() == workers)
          .mapToDouble(Throughput::perSecond).toArray());
      double tls = median(throughput.stream().filter(r -> r.links().equals("tls") && r.workers() == workers)
          .mapToDouble(Throughput::perSecond).toArray());
      double plainP50 = median(throughput.stream().filter(r -> r.links().equals("plaintext") && r.workers() == workers)
          .mapToDouble(Throughput::p50Ms).toArray());
      double tlsP50 = median(throughput.stream().filter(r -> r.links().equals("tls") && r.workers() == workers)
          .mapToDouble(Throughput::p50Ms).toArray());
      t.append(String.format(Locale.ROOT, "%7d %14.1f %12.1f %9.1f%% %16.1f %14.1f%n", k, plain, tls,
          100 * tls / plain, plainP50, tlsP50));
    }
    long errors = throughput.stream().mapToLong(Throughput::errors).sum();
    t.append(String.format(Locale.ROOT, "errors: %d; load average at the end: %s%n", errors, loadAverage()));
    return t.toString();
  }

  private static double median(double[] v) {
    if (v.length == 0) {
      return Double.NaN;
    }
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }
}
