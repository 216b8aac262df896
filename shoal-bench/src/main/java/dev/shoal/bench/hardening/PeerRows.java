package dev.shoal.bench.hardening;

import dev.shoal.bench.BenchCerts;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.coordinator.WorkerLeases;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerProbes;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.RecordingProxy;
import dev.shoal.runtime.wire.proto.StatusReply;
import dev.shoal.runtime.worker.WorkerProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The peer rows of {@code shoal bench hardening}: attacks on the links between the coordinator and
 * three worker processes (mutual TLS, as served), each while clients keep asking the coordinator
 * for answers, counted as answered (right) / lost / wrong, with the re-plans it caused. The
 * two-stage plan widens 784 inputs to 4,096 (16 KiB per sample between the stages), so a batch
 * of 5,000 would make an 80 MiB frame: the plan-derived 413 row sends one through the gateway.
 * The attacks themselves are {@link PeerProbes}, the calls {@code PeerSecurityProcessTest} asserts.
 */
final class PeerRows {

  private static final int WIDE = 4096;
  private static final String MODEL = "mlp-wide";

  /** Answers the clients got while an attack ran. */
  private static final class Load implements AutoCloseable {
    final AtomicLong answered = new AtomicLong();
    final AtomicLong lost = new AtomicLong();
    final AtomicLong wrong = new AtomicLong();
    final AtomicLong worstNanos = new AtomicLong();
    final AtomicBoolean stop = new AtomicBoolean();
    final List<Thread> clients = new ArrayList<>();

    Load(PlanBackend backend, TensorData x, float[] want, int clientCount) {
      for (int c = 0; c < clientCount; c++) {
        Thread t = new Thread(() -> {
          while (!stop.get()) {
            long t0 = System.nanoTime();
            try {
              float[] got = backend.run(MODEL, Map.of("x", x), Duration.ofSeconds(30)).get(35, TimeUnit.SECONDS)
                  .get("logits").floats();
              (closeEnough(got, want) ? answered : wrong).incrementAndGet();
            } catch (Exception e) {
              lost.incrementAndGet();
            }
            worstNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
          }
        }, "hardening-client-" + c);
        t.start();
        clients.add(t);
      }
    }

    long[] snapshot() {
      return new long[] {answered.get(), lost.get(), wrong.get()};
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      for (Thread t : clients) {
        t.join();
      }
    }
  }

  /** One attack's window: the load's counts and the re-plans between {@link #start} and {@link #end}. */
  private static final class Window {
    private final Load load;
    private final PlanBackend backend;
    private long[] before;
    private int recoveriesBefore;

    Window(Load load, PlanBackend backend) {
      this.load = load;
      this.backend = backend;
    }

    void start() {
      sleep(1000); // answers before the attack count in its row too
      before = load.snapshot();
      recoveriesBefore = backend.recoveries().size();
      load.worstNanos.set(0);
    }

    /** The row: {@code blamed} is the worker a re-plan may rightly blame (null: none may happen). */
    HardeningBench.Outcome end(String attack, String detail, String blamed) {
      sleep(2000); // and answers after it
      long[] after = load.snapshot();
      List<PlanBackend.Recovery> replans = backend.recoveries().subList(recoveriesBefore, backend.recoveries().size());
      long falseReplans = replans.stream().filter(r -> !r.worker().equals(blamed)).count();
      long answered = after[0] - before[0];
      long lost = after[1] - before[1];
      long wrong = after[2] - before[2];
      String replanText = replans.isEmpty() ? "no re-plan"
          : replans.size() + " re-plan(s): " + replans.stream().map(r -> String.format(Locale.ROOT,
              "%s (%s, detected in %.1f s)", r.worker(), r.reason(), r.detectionSeconds())).toList();
      return new HardeningBench.Outcome(attack, answered + lost + wrong, answered, lost, wrong,
          load.worstNanos.get() / 1e6, detail + "; " + replanText, Long.toString(falseReplans));
    }
  }

  private PeerRows() {}

  static List<HardeningBench.Outcome> run(Path out, PrintStream log, int clients, Duration freeze, int bigBatch)
      throws Exception {
    Path certs = BenchCerts.provision(out.resolve("certs"), List.of("w1", "w2", "w3"));
    Path foreignCerts = BenchCerts.provision(out.resolve("foreign-certs"), List.of("w1"));
    NodeCredentials coordinator = NodeCredentials.load(certs.resolve(BenchCerts.COORDINATOR));
    byte[] widen = widen();
    byte[] narrow = narrow();
    List<WorkerProcess> workers = new ArrayList<>();
    List<HardeningBench.Outcome> rows = new ArrayList<>();
    log.println("hardening: starting 3 workers (mutual TLS) ...");
    try {
      for (String name : List.of("w1", "w2", "w3")) {
        workers.add(WorkerProcess.start(List.of(), name, "127.0.0.1:0", 1.0, certs.resolve(name),
            out.resolve(name + ".log")));
      }
      WorkerProcess w1 = workers.get(0);
      WorkerProcess w2 = workers.get(1);
      WorkerProcess w3 = workers.get(2);
      PeerSecurity security = PeerSecurity.mutualTls(coordinator);
      try (RecordingProxy tap = new RecordingProxy(w1.address())) {
        // the coordinator reaches w1 through a wiretap: the attacker's copy of a real connection
        List<WorkerEndpoint> endpoints = List.of(new WorkerEndpoint("w1", tap.address()),
            new WorkerEndpoint("w2", w2.address()), new WorkerEndpoint("w3", w3.address()));
        FixedPlacement plan = FixedPlacement.chain(MODEL, List.of(widen, narrow), List.of("w1", "w2"), "raw",
            new double[2]);
        try (PlanBackend backend = PlanBackend.start(endpoints, List.of(plan), security, PlanBackend.Options.DEFAULT);
            Gateway gateway = Gateway.start(backend, 0, 0)) {
          TensorData x = probeInput();
          float[] want = expected(widen, narrow, x);
          try (Load load = new Load(backend, x, want, clients)) {
            Window w = new Window(load, backend);

            log.println("hardening: replaying a captured connection ...");
            byte[] captured = tap.largestCapture();
            for (WorkerProcess target : List.of(w1, w2)) {
              w.start();
              List<String> before = stages(backend, endpoints);
              PeerProbes.Replay r = PeerProbes.replay(captured, target.address());
              List<String> after = stages(backend, endpoints);
              String stagesNow = after.equals(before) ? "unchanged" : "CHANGED from " + before + " to " + after;
              rows.add(w.end(String.format(Locale.ROOT, "replay of a captured coordinator connection (TLS"
                      + " handshake and Deploy, first %,d bytes) to %s", captured.length, target == w1
                      ? "the same worker (w1)" : "another worker (w2)"),
                  String.format(Locale.ROOT, "%s after %,d bytes back in %.0f ms; stages on the workers %s",
                      r.closedByWorker() ? "connection closed by the worker" : "connection LEFT OPEN", r.bytesBack(),
                      r.millis(), stagesNow), null));
            }

            log.println("hardening: forged deploys ...");
            w.start();
            NodeCredentials foreign = NodeCredentials.load(foreignCerts.resolve(BenchCerts.COORDINATOR));
            byte[] attackersModel = narrow;
            String w2Address = w2.address();
            List<String> tries = new ArrayList<>();
            int accepted = 0;
            for (var attempt : List.of(
                Map.entry("plaintext", PeerProbes.plaintext(w2Address)),
                Map.entry("TLS without a certificate", PeerProbes.withoutCertificate(coordinator, "w2", w2Address)),
                Map.entry("another cluster's coordinator", PeerProbes.as(PeerProbes.impostor(foreign, coordinator),
                    "w2", w2Address)),
                Map.entry("worker w3's own certificate", PeerProbes.as(NodeCredentials.load(certs.resolve("w3")),
                    "w2", w2Address)))) {
              PeerProbes.Outcome o = PeerProbes.deploy(attempt.getValue(), attackersModel, 1L << 62);
              accepted += o.accepted() ? 1 : 0;
              tries.add(attempt.getKey() + ": " + o.code());
            }
            rows.add(w.end("forged Deploy to w2 with epoch 2^62 (4 kinds of caller)", accepted + " of 4 accepted ("
                + String.join("; ", tries) + ")", null));

            log.println("hardening: a second coordinator ...");
            w.start();
            String refusal;
            try (PlanBackend second = PlanBackend.start(endpoints, List.of(plan),
                PeerSecurity.mutualTls(coordinator), PlanBackend.Options.DEFAULT)) {
              refusal = "ACCEPTED: it serves the workers";
            } catch (RuntimeException e) {
              String m = String.valueOf(e.getMessage());
              refusal = m.contains("is leased to") ? "refused, the holder named (\"" + firstClause(m) + "\")"
                  : "failed otherwise: " + firstClause(m);
            }
            rows.add(w.end("second coordinator on the same cluster (same certificate, no --take-over)",
                refusal + "; the first still ready: " + backend.ready(), null));

            log.println("hardening: a batch of " + bigBatch + " through the gateway ...");
            HardeningBench.Target target = new HardeningBench.Target(gateway.httpPort(), ProcessHandle.current().pid(),
                "/v2/models/" + MODEL + "/infer");
            w.start();
            HardeningBench.Outcome batch = HardeningBench.overLimitBatch(target, bigBatch,
                String.format(Locale.ROOT, "batch of %,d images through the gateway: %,d bytes per sample between"
                    + " the stages, the plan's frame limit %,d", bigBatch, WIDE * 4, PlanBackend.Options.DEFAULT
                    .maxFrameBytes()), "too large for plan");
            HardeningBench.Outcome during = w.end("", "", null);
            rows.add(new HardeningBench.Outcome(batch.attack(), batch.requests(), batch.answered(), batch.lost(),
                batch.wrong(), batch.worstMs(), batch.detail() + "; clients meanwhile: " + during.answered()
                    + " answered, " + during.lost() + " lost, " + during.wrong() + " wrong", during.falseReplans()));

            log.println("hardening: SIGSTOP of w2 for " + freeze.toSeconds() + " s under load ...");
            w.start();
            signal("STOP", w2.pid());
            sleep(freeze.toMillis());
            signal("CONT", w2.pid());
            sleep(3000); // the re-plan and the replays settle
            rows.add(w.end(String.format(Locale.ROOT, "SIGSTOP of w2 (stage 2) for %d s under load (%d clients)",
                freeze.toSeconds(), clients), "every request answered or lost counted; re-plans blaming w2 are"
                + " real (it was silent longer than the 3 s lease)", "w2"));
          }
        } finally {
          WorkerLeases.release(endpoints, security);
        }
      }
    } finally {
      workers.forEach(WorkerProcess::close);
    }
    return rows;
  }

  private static List<String> stages(PlanBackend backend, List<WorkerEndpoint> endpoints) {
    List<String> all = new ArrayList<>();
    for (WorkerEndpoint e : endpoints) {
      StatusReply s = backend.status(e);
      for (int retry = 0; s == null && retry < 5; retry++) {
        sleep(200); // a status poll has a 1 s deadline: a busy worker may miss one
        s = backend.status(e);
      }
      all.add(e.name() + "=" + (s == null ? "no status" : s.getStagesList() + "@" + s.getPlanEpoch()));
    }
    return all;
  }

  private static String firstClause(String message) {
    int cut = message.indexOf(" until ");
    return (cut > 0 ? message.substring(0, cut) : message).replaceAll("\\s+", " ");
  }

  private static void signal(String name, long pid) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
    if (kill.waitFor() != 0) {
      throw new IOException("kill -" + name + " " + pid + " failed");
    }
  }

  /** 784 -> 4,096, ReLU: the wide first stage. */
  private static byte[] widen() {
    GraphBuilder g = new GraphBuilder("widen");
    Random r = new Random(11);
    String x = g.input("x", DType.FLOAT, GraphBuilder.BATCH, HardeningBench.FEATURES);
    String h = g.node("Gemm", x, g.randomWeight("w1", r, 0.05f, HardeningBench.FEATURES, WIDE),
        g.randomWeight("b1", r, 0.05f, WIDE)).out();
    h = g.node("Relu", h).outputs("h").out();
    g.output(h, DType.FLOAT, GraphBuilder.BATCH, WIDE);
    return g.build().toByteArray();
  }

  /** 4,096 -> 10 logits. */
  private static byte[] narrow() {
    GraphBuilder g = new GraphBuilder("narrow");
    Random r = new Random(12);
    String h = g.input("h", DType.FLOAT, GraphBuilder.BATCH, WIDE);
    String y = g.node("Gemm", h, g.randomWeight("w2", r, 0.02f, WIDE, HardeningBench.CLASSES),
        g.randomWeight("b2", r, 0.1f, HardeningBench.CLASSES)).outputs("logits").out();
    g.output(y, DType.FLOAT, GraphBuilder.BATCH, HardeningBench.CLASSES);
    return g.build().toByteArray();
  }

  private static TensorData probeInput() {
    float[] x = new float[HardeningBench.FEATURES];
    Random r = new Random(13);
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextFloat();
    }
    return TensorData.ofFloats("x", new long[] {1, HardeningBench.FEATURES}, x);
  }

  private static float[] expected(byte[] widen, byte[] narrow, TensorData x) {
    try (OnnxSession a = OnnxSession.open(widen, OnnxSession.Options.DEFAULT);
        OnnxSession b = OnnxSession.open(narrow, OnnxSession.Options.DEFAULT)) {
      return b.run(a.run(Map.of("x", x))).get("logits").floats();
    }
  }

  private static boolean closeEnough(float[] got, float[] want) {
    if (got.length != want.length) {
      return false;
    }
    for (int i = 0; i < got.length; i++) {
      if (Math.abs(got[i] - want[i]) > 1e-4f * Math.max(1f, Math.abs(want[i]))) {
        return false;
      }
    }
    return true;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
