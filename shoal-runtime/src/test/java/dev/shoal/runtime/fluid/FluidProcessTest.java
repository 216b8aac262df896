package dev.shoal.runtime.fluid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.strategy.FluidProducer;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.worker.WorkerProcess;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The committed Fluid G = 2 network served by two real worker processes: high-accuracy answers
 * equal the combined network's, high-throughput answers equal the sub-network that each says made
 * it; a worker SIGKILLed mid-stream loses no request in either mode (high-accuracy re-plans onto
 * the survivor's sub-network and replays, high-throughput routes around it), a restarted worker
 * rejoins, and /metrics counts answers by mode and sub-networks.
 */
class FluidProcessTest {

  private static final Path G2 = Path.of("../models/fashion/fluid/g2");
  private static final Path LOGS = Path.of("target", "fluid-test-logs");
  private static final int STREAM = 120;
  private static final int KILL_AFTER = 30;

  private static Path dir;
  private static final List<WorkerProcess> workers = new ArrayList<>();
  private static final List<WorkerEndpoint> endpoints = new ArrayList<>();
  private static FluidBackend fluid;
  private static OnnxSession sub1;
  private static OnnxSession sub2;
  private static OnnxSession features;
  private static OnnxSession combined;

  @BeforeAll
  static void start() throws IOException {
    dir = Files.createTempDirectory("shoal-fluid-test");
    Files.createDirectories(LOGS);
    CertificateAuthority.provision(dir, List.of("coordinator"), List.of("w1", "w2"));
    for (String name : List.of("w1", "w2")) {
      WorkerProcess p = WorkerProcess.start(List.of(), name, "127.0.0.1:0", 1.0, dir.resolve(name),
          LOGS.resolve(name + ".log"));
      workers.add(p);
      endpoints.add(new WorkerEndpoint(p.name(), p.address()));
    }
    PeerSecurity security = PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve("coordinator")));
    fluid = FluidBackend.start(G2, endpoints, security, FluidProducer.HIGH_ACCURACY, Map.of(),
        AutoMode.Options.DEFAULT);
    sub1 = OnnxSession.open(G2.resolve("sub1.onnx"), OnnxSession.Options.DEFAULT);
    sub2 = OnnxSession.open(G2.resolve("sub2.onnx"), OnnxSession.Options.DEFAULT);
    features = OnnxSession.open(G2.resolve("stage1-features.onnx"), OnnxSession.Options.DEFAULT);
    combined = OnnxSession.open(G2.resolve("stage2-combined.onnx"), OnnxSession.Options.DEFAULT);
  }

  @AfterAll
  static void stop() throws IOException {
    if (fluid != null) {
      fluid.close();
    }
    workers.forEach(WorkerProcess::close);
    for (OnnxSession s : new OnnxSession[] {sub1, sub2, features, combined}) {
      if (s != null) {
        s.close();
      }
    }
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  private static TensorData image(int i) {
    Random r = new Random(1000 + i);
    float[] x = new float[28 * 28];
    for (int j = 0; j < x.length; j++) {
      x[j] = (float) r.nextGaussian();
    }
    return TensorData.ofFloats("input", new long[] {1, 1, 28, 28}, x);
  }

  /** What the network that the answer names computes for image i, in this process. */
  private static float[] expected(int i, String subnets) {
    Map<String, TensorData> in = Map.of("input", image(i));
    return switch (subnets) {
      case "1" -> sub1.run(in).get("logits").floats();
      case "2" -> sub2.run(in).get("logits").floats();
      case "1,2" -> {
        Map<String, TensorData> feeds = new HashMap<>(features.run(in));
        feeds.put("input", image(i));
        yield combined.run(feeds).get("logits").floats();
      }
      default -> throw new AssertionError("unexpected sub-networks '" + subnets + "'");
    };
  }

  private record Answer(int image, InferenceResult result) {
    String subnets() {
      return result.parameters().get(FluidProducer.PARAM_SUBNETS);
    }

    String mode() {
      return result.parameters().get(FluidProducer.PARAM_MODE);
    }
  }

  /** A stream's answers, and the first image sent after the killed worker was gone (n if none was killed). */
  private record Run(List<Answer> answers, int firstSentAfterKill) {
    List<Answer> sentAfterKill() {
      return answers.stream().filter(a -> a.image() >= firstSentAfterKill).toList();
    }
  }

  /**
   * Sends images 0..n-1 with {@code window} in flight; after {@code killAfter} answers, kills
   * worker {@code victim} (-1: none). Every request must be answered: a failure fails the test.
   */
  private static Run stream(int n, int window, int killAfter, int victim) throws Exception {
    Semaphore slots = new Semaphore(window);
    AtomicInteger answered = new AtomicInteger();
    AtomicInteger sent = new AtomicInteger();
    AtomicInteger firstSentAfterKill = new AtomicInteger(n);
    CompletableFuture<Void> killed = victim < 0 ? CompletableFuture.completedFuture(null) : new CompletableFuture<>();
    List<Answer> answers = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<InferenceResult>> all = new ArrayList<>();
    // each request's own callback has run once its entry here completes
    for (int i = 0; i < n; i++) {
      slots.acquire();
      int image = i;
      CompletableFuture<InferenceResult> f = fluid.infer(InferenceCall.within(fluid.models().get(0).name(),
          Map.of("input", image(i)), Duration.ofSeconds(60)));
      sent.set(i + 1);
      all.add(f.whenComplete((r, t) -> {
        slots.release();
        if (r != null) {
          answers.add(new Answer(image, r));
          if (answered.incrementAndGet() == killAfter && victim >= 0) {
            // not on this thread: it delivers results, and blocking it would hold back answers already made
            new Thread(() -> {
              workers.get(victim).kill();
              firstSentAfterKill.set(sent.get());
              killed.complete(null);
            }).start();
          }
        }
      }));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join(); // throws if any request failed
    killed.join();
    assertThat(answers).hasSize(n);
    return new Run(answers, firstSentAfterKill.get());
  }

  private static void assertAnswersEqualTheirNetworks(List<Answer> answers) {
    for (Answer a : answers) {
      float[] got = a.result().outputs().get(FluidProducer.OUTPUT).floats();
      float[] want = expected(a.image(), a.subnets());
      for (int c = 0; c < want.length; c++) {
        assertThat(got[c]).as("image %d, sub-networks %s, class %d", a.image(), a.subnets(), c)
            .isCloseTo(want[c], org.assertj.core.api.Assertions.within(1e-4f));
      }
    }
  }

  private static double answersCounted(String mode, String subnets) {
    for (var m : PrometheusRegistry.defaultRegistry.scrape()) {
      if (m instanceof CounterSnapshot c && c.getMetadata().getName().equals("shoal_fluid_answers")) {
        return c.getDataPoints().stream().filter(d -> d.getLabels().get("mode").equals(mode)
            && d.getLabels().get("subnets").equals(subnets)).mapToDouble(d -> d.getValue()).sum();
      }
    }
    return 0;
  }

  @Test
  void modesAnswerLikeTheirNetworksAndKilledWorkersLoseNothing() throws Exception {
    String model = fluid.models().get(0).name();

    // high-accuracy, all up: the combined network
    List<Answer> accurate = stream(12, 4, -1, -1).answers();
    assertThat(accurate).allSatisfy(a -> {
      assertThat(a.mode()).isEqualTo(FluidProducer.HIGH_ACCURACY);
      assertThat(a.subnets()).isEqualTo("1,2");
    });
    assertAnswersEqualTheirNetworks(accurate);

    // high-throughput, switched through the admin interface: one sub-network per request, both used
    fluid.activate(model, FluidProducer.HIGH_THROUGHPUT);
    List<Answer> fast = stream(40, 8, -1, -1).answers();
    assertThat(fast).allSatisfy(a -> assertThat(a.mode()).isEqualTo(FluidProducer.HIGH_THROUGHPUT));
    assertThat(fast).extracting(Answer::subnets).containsOnly("1", "2").contains("1", "2");
    assertAnswersEqualTheirNetworks(fast);

    // high-accuracy, w2 killed mid-stream: nothing lost, then sub-network 1 alone
    fluid.activate(model, FluidProducer.HIGH_ACCURACY);
    Run failover = stream(STREAM, 8, KILL_AFTER, 1);
    assertAnswersEqualTheirNetworks(failover.answers());
    assertThat(failover.answers()).extracting(Answer::subnets).containsOnly("1,2", "1");
    assertThat(failover.sentAfterKill()).isNotEmpty().extracting(Answer::subnets).containsOnly("1");
    System.out.println("high-accuracy, w2 killed: " + failover.answers().stream().filter(a -> a.subnets().equals("1")).count()
        + " of " + STREAM + " answered by sub-network 1 alone; recoveries " + fluid.backend().recoveries());

    // w2 restarted on its address: it rejoins the combined network
    WorkerProcess back = WorkerProcess.start(List.of(), "w2", endpoints.get(1).address(), 1.0, dir.resolve("w2"),
        LOGS.resolve("w2-restarted.log"));
    workers.set(1, back);
    long until = System.nanoTime() + Duration.ofSeconds(40).toNanos();
    String subnets = "";
    while (!subnets.equals("1,2") && System.nanoTime() < until) {
      subnets = stream(1, 1, -1, -1).answers().get(0).subnets();
      Thread.sleep(200);
    }
    assertThat(subnets).as("sub-networks after w2 restarted").isEqualTo("1,2");

    // high-throughput, w1 killed mid-stream: nothing lost, its requests go to sub-network 2
    fluid.activate(model, FluidProducer.HIGH_THROUGHPUT);
    Run routedAround = stream(STREAM, 8, KILL_AFTER, 0);
    assertAnswersEqualTheirNetworks(routedAround.answers());
    assertThat(routedAround.answers()).extracting(Answer::subnets).containsOnly("1", "2");
    assertThat(routedAround.sentAfterKill()).isNotEmpty().extracting(Answer::subnets).containsOnly("2");

    assertThat(answersCounted(FluidProducer.HIGH_ACCURACY, "1,2")).isGreaterThanOrEqualTo(12 + 1);
    assertThat(answersCounted(FluidProducer.HIGH_ACCURACY, "1")).isGreaterThanOrEqualTo(1);
    assertThat(answersCounted(FluidProducer.HIGH_THROUGHPUT, "2")).isGreaterThanOrEqualTo(20);
  }
}
