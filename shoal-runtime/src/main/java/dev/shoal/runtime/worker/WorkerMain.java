package dev.shoal.runtime.worker;

import dev.shoal.runtime.security.ClusterSecret;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.GrpcChannels.HostPort;
import java.nio.file.Path;

/**
 * Plain entry point of a worker process ({@code java -cp … dev.shoal.runtime.worker.WorkerMain}),
 * for hosts and tests without the CLI module; {@code shoal worker} offers the same options with
 * help. Prints one line {@code shoal worker NAME listening on HOST:PORT} once it serves.
 */
public final class WorkerMain {
  private WorkerMain() {}

  public static void main(String[] args) throws Exception {
    String listen = null;
    String name = null;
    String secretFile = null;
    double slowdown = 1.0;
    int threads = 1;
    int queue = WorkerConfig.DEFAULT_QUEUE_CAPACITY;
    int maxFrame = Frames.DEFAULT_MAX_FRAME_BYTES;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--listen" -> listen = value;
        case "--name" -> name = value;
        case "--secret-file" -> secretFile = value;
        case "--slowdown" -> slowdown = Double.parseDouble(value);
        case "--threads" -> threads = Integer.parseInt(value);
        case "--queue" -> queue = Integer.parseInt(value);
        case "--max-frame-bytes" -> maxFrame = Integer.parseInt(value);
        default -> fail("unknown option " + args[i]);
      }
      i++;
    }
    if (listen == null || secretFile == null) {
      fail("usage: WorkerMain --listen HOST:PORT --secret-file FILE [--name N] [--slowdown K]"
          + " [--threads T] [--queue Q] [--max-frame-bytes B]");
    }
    HostPort hp = HostPort.parse(listen);
    WorkerConfig config = new WorkerConfig(hp.host(), hp.port(), name == null ? listen : name,
        slowdown, threads, queue, maxFrame, ClusterSecret.load(Path.of(secretFile)));
    run(config);
  }

  /** Starts the worker, announces its address on stdout and serves until the process ends. */
  public static void run(WorkerConfig config) throws Exception {
    Worker worker = Worker.start(config);
    Runtime.getRuntime().addShutdownHook(new Thread(worker::close));
    System.out.println("shoal worker " + config.name() + " listening on " + config.host() + ":" + worker.port()
        + " (slowdown " + config.slowdown() + ", secret " + config.secret().fingerprint() + ")");
    System.out.flush();
    worker.awaitTermination();
  }

  private static void fail(String message) {
    System.err.println("shoal worker: " + message);
    System.exit(2);
  }
}
