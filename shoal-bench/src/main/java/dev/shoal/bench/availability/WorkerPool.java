package dev.shoal.bench.availability;

import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.worker.WorkerProcess;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Worker processes on loopback that keep their addresses: a SIGKILLed worker is started again on
 * the same port, so the cluster (and the plans that name it) stays the same between experiments.
 */
public final class WorkerPool implements AutoCloseable {

  private final Path certs;
  private final Path logs;
  private final double slowdown;
  private final List<WorkerProcess> workers = new ArrayList<>();
  private final List<WorkerEndpoint> endpoints = new ArrayList<>();

  private WorkerPool(Path certs, Path logs, double slowdown) {
    this.certs = certs;
    this.logs = logs;
    this.slowdown = slowdown;
  }

  /**
   * Starts {@code count} workers named w1..wN on free loopback ports, each emulating a device
   * {@code slowdown} times slower than this host (DESIGN.md), each with its node directory
   * {@code certs/wI} ({@link FashionServingSetup#writeCertificates}).
   */
  public static WorkerPool start(int count, Path certs, Path logs, double slowdown) throws IOException {
    WorkerPool pool = new WorkerPool(certs, logs, slowdown);
    try {
      for (int i = 1; i <= count; i++) {
        WorkerProcess p = WorkerProcess.start(List.of(), "w" + i, "127.0.0.1:0", slowdown, certs.resolve("w" + i),
            logs.resolve("w" + i + ".log"));
        pool.workers.add(p);
        pool.endpoints.add(new WorkerEndpoint(p.name(), p.address()));
      }
      return pool;
    } catch (IOException | RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  public List<WorkerEndpoint> endpoints() {
    return List.copyOf(endpoints);
  }

  /** SIGKILL of worker {@code index} (0-based). */
  public void kill(int index) {
    workers.get(index).kill();
  }

  /** Starts every dead worker again on its old address. */
  public void restartDead() throws IOException {
    for (int i = 0; i < workers.size(); i++) {
      if (!workers.get(i).isAlive()) {
        WorkerEndpoint e = endpoints.get(i);
        workers.set(i, WorkerProcess.start(List.of(), e.name(), e.address(), slowdown, certs.resolve(e.name()),
            logs.resolve(e.name() + "-restarted.log")));
      }
    }
  }

  @Override
  public void close() {
    workers.forEach(WorkerProcess::close);
  }
}
