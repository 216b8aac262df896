package dev.shoal.bench.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.bench.BenchCerts;
import dev.shoal.bench.LoadAverage;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.runtime.pipeline.PreparedModel;
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
 * after round (which goes first alternates too), so load from other processes falls on both alike;
 * each round pairs a TLS figure with the plaintext one next to it, and the table gives the median
 * of those paired ratios with their spread (lowest and highest round), so one noisy round shows as
 * spread instead of moving the figure.
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
    String loadAtStart = LoadAverage.now().toString();
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
    String table = table(transport, throughput, o, loadAtStart);
    log.print(table);
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = json.createObjectNode();
    root.put("what", "mutual TLS 1.3 vs plaintext peer links on loopback; medians over rounds");
    root.put("rounds", o.rounds());
    root.put("requests", o.requests());
    root.put("window", o.window());
    root.put("transportSamples", o.transportSamples());
    root.put("model", "MobileNetV2 " + o.modelResolution() + "x" + o.modelResolution() + " width 0.5, no emulated slowdown");
    root.put("loadAverageAtStart", loadAtStart);
    root.put("loadAverageAtEnd", LoadAverage.now().toString());
    root.set("transport", json.valueToTree(transport));
    root.set("throughput", json.valueToTree(throughput));
    Files.writeString(out.resolve("results.json"), json.writeValueAsString(root), StandardCharsets.UTF_8);
    Files.writeString(out.resolve("table.txt"), table, StandardCharsets.UTF_8);
    log.println("wrote " + out.resolve("results.json") + " and " + out.resolve("table.txt"));
  }

  private static String table(List<Transport> transport, List<Throughput> throughput, Options o, String loadAtStart) {
    StringBuilder t = new StringBuilder(String.format(Locale.ROOT,
        "%nround trip of one tensor, one request at a time (medians over %d rounds of each round's p50; TLS adds:"
            + " median of the rounds' paired ratios, spread lowest..highest round)%n", o.rounds()));
    t.append(String.format(Locale.ROOT, "%-14s %9s %13s %13s %11s %19s%n", "path", "bytes", "plain p50 ms",
        "TLS p50 ms", "TLS adds", "spread"));
    for (String path : List.of("shoal-1-stage", "shoal-2-stage")) {
      for (int size : SIZES) {
        double[] plain = new double[o.rounds()];
        double[] tls = new double[o.rounds()];
        for (Transport r : transport) {
          if (r.path().equals(path) && r.bytes() == size) {
            (r.links().equals("tls") ? tls : plain)[r.round()] = r.p50Ms();
          }
        }
        double[] ratio = ratios(tls, plain);
        t.append(String.format(Locale.ROOT, "%-14s %9d %13.3f %13.3f %+10.1f%% %+8.1f..%+7.1f%%%n", path, size,
            median(plain), median(tls), 100 * (median(ratio) - 1), 100 * (min(ratio) - 1), 100 * (max(ratio) - 1)));
      }
    }
    t.append(String.format(Locale.ROOT, "%npipeline throughput, MobileNetV2 %dx%d, no emulated slowdown, window %d "
        + "(medians over rounds; TLS/plain: median of the rounds' paired ratios, spread lowest..highest)%n",
        o.modelResolution(), o.modelResolution(), o.window()));
    t.append(String.format(Locale.ROOT, "%7s %14s %12s %10s %15s %16s %14s%n", "workers", "plain inf/s", "TLS inf/s",
        "TLS/plain", "spread", "plain p50 ms", "TLS p50 ms"));
    for (int k = 1; k <= o.workers(); k++) {
      double[] plain = new double[o.rounds()];
      double[] tls = new double[o.rounds()];
      double[] plainP50 = new double[o.rounds()];
      double[] tlsP50 = new double[o.rounds()];
      for (Throughput r : throughput) {
        if (r.workers() == k) {
          boolean isTls = r.links().equals("tls");
          (isTls ? tls : plain)[r.round()] = r.perSecond();
          (isTls ? tlsP50 : plainP50)[r.round()] = r.p50Ms();
        }
      }
      double[] ratio = ratios(tls, plain);
      t.append(String.format(Locale.ROOT, "%7d %14.1f %12.1f %9.1f%% %6.1f..%5.1f%% %16.1f %14.1f%n", k,
          median(plain), median(tls), 100 * median(ratio), 100 * min(ratio), 100 * max(ratio), median(plainP50),
          median(tlsP50)));
    }
    long errors = throughput.stream().mapToLong(Throughput::errors).sum();
    t.append(String.format(Locale.ROOT, "errors: %d; load average at the start: %s; at the end: %s%n", errors,
        loadAtStart, LoadAverage.now()));
    return t.toString();
  }

  /** Round by round, {@code a / b}. */
  private static double[] ratios(double[] a, double[] b) {
    double[] r = new double[a.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = a[i] / b[i];
    }
    return r;
  }

  private static double min(double[] v) {
    return Arrays.stream(v).min().orElse(Double.NaN);
  }

  private static double max(double[] v) {
    return Arrays.stream(v).max().orElse(Double.NaN);
  }

  private static double median(double[] v) {
    if (v.length == 0) {
      return Double.NaN;
    }
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
}
