package dev.shoal.runtime.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.model.TensorData;
import dev.shoal.runtime.pipeline.ChainModels;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import dev.shoal.runtime.worker.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Heartbeats keep flowing while a worker is flooded with large frames (its queue full, its one
 * compute thread busy) and this process burns its CPUs: their own connection, I/O thread, timer
 * and server thread keep a healthy worker from being declared dead (no false re-plans).
 */
class HeartbeatUnderLoadTest {
  private static final int WIDTH = 512;
  private static final int BATCH = 256; // 512 KiB frames
  @Test
  void aWorkerFloodedWithFramesIsNotDeclaredDead() throws Exception {
    Path dir = Files.createTempDirectory("shoal-heartbeat-test");
    Path logs = Files.createDirectories(Path.of("target", "heartbeat-test-logs"));
    CertificateAuthority.provision(dir, List.of("coordinator"), List.of("w0"));
    AtomicBoolean burning = new AtomicBoolean(true);
    List<Thread> burners = new ArrayList<>();
    try (WorkerProcess w = WorkerProcess.start(List.of(), "w0", "127.0.0.1:0", 1.0, dir.resolve("w0"),
        logs.resolve("w0.log"))) {
      PlanBackend.Options options = new PlanBackend.Options(4096, PlanBackend.Options.DEFAULT.maxFrameBytes());
      FixedPlacement plan = FixedPlacement.chain("chain", List.of(ChainModels.slice(WIDTH, 2, 0, 1)),
          List.of(w.name()), "raw", new double[1]);
      try (PlanBackend b = PlanBackend.start(List.of(new WorkerEndpoint(w.name(), w.address())), List.of(plan),
          PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve("coordinator"))), options)) {
        for (int i = 0; i < Runtime.getRuntime().availableProcessors(); i++) {
          Thread t = new Thread(() -> {
            long sum = 0;
            while (burning.get()) {
              sum += System.nanoTime() % 7;
            }
            if (sum == 42) {
              System.out.println(sum);
            }
          }, "cpu-burner-" + i);
          t.setDaemon(true);
          t.start();
          burners.add(t);
        }
        TensorData x = TensorData.ofFloats("x", new long[] {BATCH, WIDTH}, new float[BATCH * WIDTH]);
        Semaphore window = new Semaphore(32);
        AtomicInteger failed = new AtomicInteger();
        List<CompletableFuture<Map<String, TensorData>>> all = new ArrayList<>();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < end) {
          window.acquire();
          CompletableFuture<Map<String, TensorData>> f = b.run("chain", Map.of("x", x), java.time.Duration.ofSeconds(60));
          f.whenComplete((r, e) -> {
            if (e != null) {
              failed.incrementAndGet();
            }
            window.release();
          });
          all.add(f);
        }
        burning.set(false);
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).exceptionally(e -> null).get(120, TimeUnit.SECONDS);
        System.out.printf("heartbeats under load: %d requests of %d KiB, %d failed, %d re-plans%n", all.size(),
            BATCH * WIDTH * 4 / 1024, failed.get(), b.recoveries().size());
        assertThat(all.size()).isGreaterThan(20);
        assertThat(b.recoveries()).isEmpty();
        assertThat(failed.get()).isZero();
        assertThat(String.join("\n", b.status())).doesNotContain("DOWN");
      }
    } finally {
      burning.set(false);
      for (Thread t : burners) {
        t.join();
      }
      try (var files = Files.walk(dir)) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(f);
        }
      }
    }
  }
}
