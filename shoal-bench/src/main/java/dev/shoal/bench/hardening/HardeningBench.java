package dev.shoal.bench.hardening;

import dev.shoal.bench.LoadAverage;
import dev.shoal.bench.ResultTable;
import dev.shoal.bench.Percentiles;
import dev.shoal.model.DType;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.runtime.worker.WorkerProcess;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.util.Set;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code shoal bench hardening}. The API rows: attacks on a gateway running as its own process
 * ({@code shoal serve --local} of a small MLP under {@code -Xmx512m}), each with probe requests that
 * must still be answered, counted as answered / lost / wrong:
 *
 * <ul>
 *   <li>slow-loris: many connections sending their heads a byte at a time, while a probe runs
 *   <li>aborted requests: connections that hang up mid-body; the gateway's open descriptors, from
 *       {@code /proc/PID/fd}, before and after
 *   <li>concurrent bodies of the maximum size: nested empty arrays (refused) and valid batches
 *       (answered); the process's resident memory
 *   <li>a batch over the limit: a 413 and how long it took
 * </ul>
 *
 * <p>and then the peer rows ({@link PeerRows}), on a coordinator and three worker processes.
 */
public final class HardeningBench {

  /**
   * @param serveCommand the main class and leading words of {@code shoal serve} in this class path
   * @param slowConnections slow-loris connections held open
   * @param slowFor how long the slow-loris attack lasts
   * @param aborted requests that hang up mid-body
   * @param bigBodies concurrent maximum-size bodies
   * @param maxBatch the gateway's --max-batch; the over-limit row sends {@code bigBatch} rows
   * @param bigBatch rows of the over-limit batch
   */
  public record Config(List<String> serveCommand, int slowConnections, Duration slowFor, int aborted,
      int bigBodies, long maxBatch, int bigBatch, Set<Section> sections, int clients, Duration freeze) {}

  /** The two halves of the table. */
  public enum Section {
    /** attacks on the inference API of a gateway in its own process */
    API,
    /** attacks on the links between the coordinator and the workers, under load */
    PEERS
  }

  static final int FEATURES = 784;
  static final int CLASSES = 10;
  static final long MAX_BODY = 16L << 20;
  private static final Duration PROBE_OK = Duration.ofSeconds(1);

  private HardeningBench() {}

  /**
   * One attack's outcome: the requests that had to be answered meanwhile, and the re-plans that
   * blamed a healthy worker ("-" where no cluster runs).
   */
  record Outcome(String attack, long requests, long answered, long lost, long wrong, double worstMs, String detail,
      String falseReplans) {

    Outcome(String attack, long requests, long answered, long lost, long wrong, double worstMs, String detail) {
      this(attack, requests, answered, lost, wrong, worstMs, detail, "-");
    }
  }

  public static ResultTable run(Config config, Path out, PrintStream log) throws Exception {
    Files.createDirectories(out);
    List<Outcome> outcomes = new ArrayList<>();
    if (config.sections().contains(Section.API)) {
      outcomes.addAll(apiRows(config, out, log));
    }
    if (config.sections().contains(Section.PEERS)) {
      outcomes.addAll(PeerRows.run(out.resolve("peers"), log, config.clients(), config.freeze(), config.bigBatch()));
    }
    ResultTable table = new ResultTable("attack", "requests", "answered", "lost", "wrong", "false_replans", "worst_ms",
        "detail");
    for (Outcome o : outcomes) {
      table.row(o.attack(), o.requests(), o.answered(), o.lost(), o.wrong(), o.falseReplans(), o.worstMs(), o.detail());
    }
    table.meta("api_gateway", "shoal serve --local (MLP 784-64-10), -Xmx512m, own process, loopback")
        .meta("peers", "PlanBackend in this process, 3 worker processes (mutual TLS), plan 784->4096 | 4096->10")
        .meta("max_request_bytes", MAX_BODY).meta("max_batch", config.maxBatch())
        .meta("load_average_at_end", LoadAverage.now().toString());
    table.print(log);
    table.writeJson(out.resolve("hardening.json"));
    table.writeCsv(out.resolve("hardening.csv"));
    return table;
  }

  private static List<Outcome> apiRows(Config config, Path out, PrintStream log) throws Exception {
    Path model = out.resolve("mlp784.onnx");
    OnnxModelIO.write(mlp(), model);
    List<String> args = new ArrayList<>(config.serveCommand().subList(1, config.serveCommand().size()));
    args.addAll(List.of("--local", model.toString(), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0",
        "--max-batch", Long.toString(config.maxBatch())));
    log.println("hardening: starting the gateway (shoal serve --local, -Xmx512m) ...");
    List<Outcome> outcomes = new ArrayList<>();
    try (WorkerProcess gateway = WorkerProcess.startMain(List.of(), "gateway", config.serveCommand().get(0), args,
        out.resolve("gateway.log"))) {
      Target target = new Target(Integer.parseInt(gateway.address().replaceAll(".*:", "")), gateway.pid(),
          "/v2/models/mlp784/infer");
      for (int i = 0; i < 20; i++) {
        target.probe(); // warm the request path before anything is timed
      }
      log.println("hardening: slow-loris ...");
      outcomes.add(slowLoris(target, config));
      log.println("hardening: aborted requests ...");
      outcomes.add(aborted(target, config));
      log.println("hardening: maximum-size bodies ...");
      outcomes.add(bigBodies(target, config, true));
      outcomes.add(bigBodies(target, config, false));
      log.println("hardening: batch over the limit ...");
      outcomes.add(overLimitBatch(target, config.bigBatch(), String.format(Locale.ROOT,
          "batch of %,d images over --max-batch %d", config.bigBatch(), config.maxBatch()), "over the gateway's limit"));
      if (!gateway.isAlive()) {
        throw new IllegalStateException("the gateway process died (see " + out.resolve("gateway.log") + ")");
      }
    }
    return outcomes;
  }

  /** A small classifier of 28x28 images, flattened: 784 -> 64 -> ReLU -> 10. */
  static ai.onnx.proto.OnnxMl.ModelProto mlp() {
    GraphBuilder g = new GraphBuilder("mlp784");
    Random r = new Random(7);
    String x = g.input("x", DType.FLOAT, GraphBuilder.BATCH, FEATURES);
    String h = g.node("Gemm", x, g.randomWeight("w1", r, 0.05f, FEATURES, 64),
        g.randomWeight("b1", r, 0.05f, 64)).out();
    h = g.node("Relu", h).out();
    String y = g.node("Gemm", h, g.randomWeight("w2", r, 0.1f, 64, CLASSES), g.randomWeight("b2", r, 0.1f, CLASSES))
        .outputs("logits").out();
    g.output(y, DType.FLOAT, GraphBuilder.BATCH, CLASSES);
    return g.build();
  }

  /** The gateway under attack: its REST port, process and the inference path of its model. */
  record Target(int port, long pid, String inferPath) {

    static final byte[] PROBE = ("{\"inputs\":[{\"name\":\"x\",\"shape\":[1," + FEATURES + "],\"datatype\":\"FP32\","
        + "\"data\":[" + "0.5,".repeat(FEATURES - 1) + "0.5]}]}").getBytes(StandardCharsets.UTF_8);

    /** One inference on a fresh connection: its latency, or -1 lost, or -2 wrong. */
    double probe() {
      long t0 = System.nanoTime();
      Reply r = exchange("POST", inferPath, PROBE, null);
      double ms = (System.nanoTime() - t0) / 1e6;
      if (r == null) {
        return -1;
      }
      return r.status() == 200 && r.text().contains("\"shape\":[1," + CLASSES + "]") ? ms : -2;
    }

    /** A request with {@code Connection: close}; null if no whole response came back. */
    Reply exchange(String method, String path, byte[] body, String extraHeaders) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        s.setSoTimeout(60_000);
        OutputStream out = s.getOutputStream();
        String head = method + " " + path + " HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
            + (extraHeaders == null ? "" : extraHeaders) + "Content-Length: " + body.length + "\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        try {
          out.write(body);
          out.flush();
        } catch (IOException refusedEarly) {
          // the server answered before taking the whole body (413): read its answer
        }
        byte[] all = s.getInputStream().readAllBytes();
        String text = new String(all, StandardCharsets.ISO_8859_1);
        if (!text.startsWith("HTTP/1.1 ") || text.length() < 12) {
          return null;
        }
        return new Reply(Integer.parseInt(text.substring(9, 12)), text);
      } catch (IOException e) {
        return null;
      }
    }

    long descriptors() throws IOException {
      try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
        return fds.count();
      }
    }

    /** A field of /proc/PID/status in MiB (VmRSS, VmHWM). */
    double memoryMib(String field) throws IOException {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.replaceAll("\\D+", "")) / 1024.0;
        }
      }
      throw new IOException(field + " not in /proc/" + pid + "/status");
    }
  }

  record Reply(int status, String text) {}

  /** Probes once every {@code everyMs} until stopped; counts answered (within 1 s), lost and wrong. */
  static final class Prober implements AutoCloseable {
    final AtomicBoolean stop = new AtomicBoolean();
    final List<Double> latencies = new ArrayList<>();
    final AtomicLong lost = new AtomicLong();
    final AtomicLong wrong = new AtomicLong();
    final AtomicLong late = new AtomicLong();
    final Thread thread;

    Prober(Target target, long everyMs) {
      thread = new Thread(() -> {
        while (!stop.get()) {
          double ms = target.probe();
          synchronized (latencies) {
            if (ms == -1) {
              lost.incrementAndGet();
            } else if (ms == -2) {
              wrong.incrementAndGet();
            } else {
              latencies.add(ms);
              if (ms > PROBE_OK.toMillis()) {
                late.incrementAndGet();
              }
            }
          }
          sleep(everyMs);
        }
      }, "hardening-probe");
      thread.start();
    }

    long requests() {
      synchronized (latencies) {
        return latencies.size() + lost.get() + wrong.get();
      }
    }

    double worst() {
      synchronized (latencies) {
        return latencies.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
      }
    }

    String summary() {
      synchronized (latencies) {
        Percentiles p = Percentiles.of(latencies.stream().mapToDouble(Double::doubleValue).toArray());
        return String.format(Locale.ROOT, "probe p50 %.1f ms, p99 %.1f ms, %d over 1 s", p.p50(), p.p99(), late.get());
      }
    }

    /** Probes answered correctly within a second. */
    long answered() {
      synchronized (latencies) {
        return latencies.size() - late.get();
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join();
    }
  }

  private static Outcome slowLoris(Target target, Config config) throws Exception {
    List<Socket> slow = new ArrayList<>();
    long cutOff = 0;
    byte[] head = ("POST /v2/models/mlp784/infer HTTP/1.1\r\nHost: gateway\r\nContent-Length: 10\r\nX-Slow: "
        + "a".repeat(4000) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    int[] sent = new int[config.slowConnections()];
    for (int i = 0; i < config.slowConnections(); i++) {
      slow.add(new Socket("127.0.0.1", target.port()));
    }
    Prober probe = new Prober(target, 250);
    long end = System.nanoTime() + config.slowFor().toNanos();
    try {
      while (System.nanoTime() < end) {
        for (int i = 0; i < slow.size(); i++) {
          try {
            slow.get(i).getOutputStream().write(head[sent[i] % head.length]);
            sent[i]++;
          } catch (IOException closedByServer) {
            cutOff++;
            slow.get(i).close();
            slow.set(i, new Socket("127.0.0.1", target.port()));
            sent[i] = 0;
          }
        }
        sleep(1000);
      }
    } finally {
      probe.close();
      for (Socket s : slow) {
        s.close();
      }
    }
    return new Outcome(String.format(Locale.ROOT, "slow-loris: %d connections, 1 byte/s each, %d s",
        config.slowConnections(), config.slowFor().toSeconds()), probe.requests(), probe.answered(),
        probe.lost.get(), probe.wrong.get() + probe.late.get(), probe.worst(),
        probe.summary() + "; " + cutOff + " slow connections cut off by the server and reopened");
  }

  private static Outcome aborted(Target target, Config config) throws Exception {
    double firstProbe = target.probe();
    long before = target.descriptors();
    byte[] partial = ("POST /v2/models/mlp784/infer HTTP/1.1\r\nHost: gateway\r\nContent-Length: 100000\r\n\r\n"
        + "{\"inputs\":[{\"name\":\"x\",").getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < config.aborted(); i++) {
      try (Socket s = new Socket("127.0.0.1", target.port())) {
        s.getOutputStream().write(partial);
        if (i % 2 == 0) {
          s.setSoLinger(true, 0); // a reset instead of a close
        }
      }
    }
    long after = target.descriptors();
    for (int i = 0; i < 50 && after > before + 8; i++) {
      sleep(100);
      after = target.descriptors();
    }
    double probe = target.probe();
    long answered = (firstProbe >= 0 ? 1 : 0) + (probe >= 0 ? 1 : 0);
    return new Outcome(String.format(Locale.ROOT, "%,d requests aborted mid-body", config.aborted()), 2, answered,
        (firstProbe == -1 ? 1 : 0) + (probe == -1 ? 1 : 0), (firstProbe == -2 ? 1 : 0) + (probe == -2 ? 1 : 0),
        Math.max(firstProbe, probe), "gateway descriptors before " + before + ", after " + after
            + (after <= before + 8 ? " (flat)" : " (GREW)") + "; probes before and after");
  }

  /**
   * Concurrent bodies of nearly the maximum size: nested empty arrays (each must get a 400) or valid
   * batches (each must be answered), with probes running and the gateway's memory sampled.
   */
  private static Outcome bigBodies(Target target, Config config, boolean emptyArrays) throws Exception {
    byte[] body = emptyArrays ? emptyArraysBody() : validBatchBody(config.maxBatch());
    int rows = emptyArrays ? 0 : rowsOf(config.maxBatch());
    double rssBefore = target.memoryMib("VmRSS");
    AtomicBoolean sampling = new AtomicBoolean(true);
    double[] rssPeak = {rssBefore};
    Thread sampler = new Thread(() -> {
      while (sampling.get()) {
        try {
          rssPeak[0] = Math.max(rssPeak[0], target.memoryMib("VmRSS"));
        } catch (IOException gone) {
          return;
        }
        sleep(50);
      }
    });
    sampler.start();
    ExecutorService pool = Executors.newFixedThreadPool(config.bigBodies());
    long answered = 0;
    long lost = 0;
    long wrong = 0;
    double worst = 0;
    Prober probe = new Prober(target, 250);
    try {
      List<Future<double[]>> sends = new ArrayList<>();
      for (int i = 0; i < config.bigBodies(); i++) {
        sends.add(pool.submit(() -> {
          long t0 = System.nanoTime();
          Reply r = target.exchange("POST", target.inferPath(), body, "Content-Type: application/json\r\n");
          double ms = (System.nanoTime() - t0) / 1e6;
          if (r == null) {
            return new double[] {-1, ms};
          }
          boolean right = emptyArrays ? r.status() == 400 && r.text().contains("'data' has 0")
              : r.status() == 200 && r.text().contains("\"shape\":[" + rows + "," + CLASSES + "]");
          return new double[] {right ? 1 : -2, ms};
        }));
      }
      for (Future<double[]> f : sends) {
        double[] r = f.get(10, TimeUnit.MINUTES);
        worst = Math.max(worst, r[1]);
        if (r[0] == 1) {
          answered++;
        } else if (r[0] == -1) {
          lost++;
        } else {
          wrong++;
        }
      }
    } finally {
      probe.close();
      pool.shutdownNow();
      sampling.set(false);
      sampler.join();
    }
    sleep(2000);
    double rssAfter = target.memoryMib("VmRSS");
    String what = emptyArrays
        ? String.format(Locale.ROOT, "%d concurrent %.1f MiB bodies of nested empty arrays (400 each)",
            config.bigBodies(), body.length / 1048576.0)
        : String.format(Locale.ROOT, "%d concurrent %.1f MiB valid JSON batches of %,d images (200 each)",
            config.bigBodies(), body.length / 1048576.0, rows);
    return new Outcome(what, config.bigBodies() + probe.requests(), answered + probe.answered(),
        lost + probe.lost.get(), wrong + probe.wrong.get() + probe.late.get(), worst,
        String.format(Locale.ROOT, "gateway RSS %.0f MiB before, peak %.0f, %.0f after (-Xmx512m); %s",
            rssBefore, rssPeak[0], rssAfter, probe.summary()));
  }

  private static byte[] emptyArraysBody() {
    String head = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1," + FEATURES + "],\"datatype\":\"FP32\",\"data\":[";
    String tail = "[]]}]}";
    int pairs = (int) ((MAX_BODY - 1 - head.length() - tail.length()) / 3);
    return (head + "[],".repeat(pairs) + tail).getBytes(StandardCharsets.US_ASCII);
  }

  /** Rows of 784 values written as "0.123456," that fit one body under the limit and the batch limit. */
  private static int rowsOf(long maxBatch) {
    long perRow = FEATURES * 9L;
    return (int) Math.min(maxBatch, (MAX_BODY - 1024) / perRow);
  }

  private static byte[] validBatchBody(long maxBatch) {
    int rows = rowsOf(maxBatch);
    StringBuilder b = new StringBuilder((int) MAX_BODY);
    b.append("{\"inputs\":[{\"name\":\"x\",\"shape\":[").append(rows).append(',').append(FEATURES)
        .append("],\"datatype\":\"FP32\",\"data\":[");
    for (long i = 0; i < (long) rows * FEATURES; i++) {
      b.append(i == 0 ? "" : ",").append("0.123456");
    }
    return b.append("]}]}").toString().getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * A binary-extension request of {@code batch} images, five times: each must get a 413 whose
   * message contains {@code why}, within a second, the whole body sent.
   */
  static Outcome overLimitBatch(Target target, int batch, String what, String why) {
    byte[] json = ("{\"inputs\":[{\"name\":\"x\",\"shape\":[" + batch + "," + FEATURES
        + "],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":" + (long) batch * FEATURES * 4
        + "}}]}").getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes(json);
    body.writeBytes(new byte[batch * FEATURES * 4]);
    byte[] bytes = body.toByteArray();
    long answered = 0;
    long lost = 0;
    long wrong = 0;
    String message = "";
    double[] ms = new double[5];
    for (int i = 0; i < ms.length; i++) {
      long t0 = System.nanoTime();
      Reply r = target.exchange("POST", target.inferPath(), bytes,
          "Inference-Header-Content-Length: " + json.length + "\r\nContent-Type: application/octet-stream\r\n");
      ms[i] = (System.nanoTime() - t0) / 1e6;
      if (r == null) {
        lost++;
      } else if (r.status() == 413 && r.text().contains(why) && ms[i] < 1000) {
        answered++;
        message = r.text().substring(r.text().indexOf("\r\n\r\n") + 4).strip();
      } else {
        wrong++;
        message = r.status() + " " + r.text().substring(r.text().indexOf("\r\n\r\n") + 4).strip();
      }
    }
    double worst = java.util.Arrays.stream(ms).max().orElse(Double.NaN);
    return new Outcome(String.format(Locale.ROOT, "%s (%.1f MB binary)", what, bytes.length / 1e6), ms.length,
        answered, lost, wrong, worst, "413 expected within 1 s, whole body sent, " + ms.length + " tries; " + message);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
