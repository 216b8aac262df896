package dev.shoal.runtime.worker;

import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.NodeRole;
import dev.shoal.runtime.security.PeerIdentity;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.wire.Frames;
import dev.shoal.runtime.wire.GrpcChannels.HostPort;
import java.nio.file.Path;

/**
 * Plain entry point of a worker process ({@code java -cp … dev.shoal.runtime.worker.WorkerMain}),
 * for hosts and tests without the CLI module; {@code shoal worker} offers the same options with
 * help. Prints one line {@code shoal worker NAME listening on HOST:PORT (data port P, …)} once it serves.
 */
public final class WorkerMain {
  private WorkerMain() {}

  public static void main(String[] args) throws Exception {
    String listen = null;
    String name = null;
    String credentials = null;
    boolean plaintext = false;
    double slowdown = 1.0;
    int threads = 1;
    int queue = WorkerConfig.DEFAULT_QUEUE_CAPACITY;
    int maxFrame = Frames.DEFAULT_MAX_FRAME_BYTES;
    int dataPort = 0;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--listen" -> listen = value;
        case "--name" -> name = value;
        case "--credentials" -> credentials = value;
        case "--insecure-plaintext" -> {
          plaintext = true;
          i--; // a flag, no value
        }
        case "--slowdown" -> slowdown = Double.parseDouble(value);
        case "--threads" -> threads = Integer.parseInt(value);
        case "--queue" -> queue = Integer.parseInt(value);
        case "--max-frame-bytes" -> maxFrame = Integer.parseInt(value);
        case "--data-port" -> dataPort = Integer.parseInt(value);
        default -> fail("unknown option " + args[i]);
      }
      i++;
    }
    if (listen == null || (credentials == null) == !plaintext) {
      fail("usage: WorkerMain --listen HOST:PORT (--credentials DIR | --insecure-plaintext --name N) [--name N]"
          + " [--data-port P] [--slowdown K] [--threads T] [--queue Q] [--max-frame-bytes B]");
    }
    HostPort hp = HostPort.parse(listen);
    PeerSecurity security;
    if (plaintext) {
      if (name == null) {
        fail("--insecure-plaintext needs --name");
      }
      security = PeerSecurity.insecurePlaintext(new PeerIdentity(name, NodeRole.WORKER));
    } else {
      security = PeerSecurity.mutualTls(workerCredentials(Path.of(credentials), name));
    }
    run(new WorkerConfig(hp.host(), hp.port(), dataPort, security.self().name(), slowdown, threads, queue, maxFrame, security));
  }

  /** Starts the worker, announces its address on stdout and serves until the process ends. */
  public static void run(WorkerConfig config) throws Exception {
    Worker worker = Worker.start(config);
    Runtime.getRuntime().addShutdownHook(new Thread(worker::close));
    System.out.println("shoal worker " + config.name() + " listening on " + config.host() + ":" + worker.port()
        + " (data port " + worker.dataPort() + ", slowdown " + config.slowdown() + ", " + config.security().describe() + ")");
    System.out.flush();
    worker.awaitTermination();
  }

  /**
   * A worker's credentials: the certificate must be a worker's, and name the node {@code name}
   * when one is given (the worker's name is its certificate's otherwise).
   */
  public static NodeCredentials workerCredentials(Path dir, String name) {
    NodeCredentials c = NodeCredentials.load(dir);
    if (c.identity().role() != NodeRole.WORKER) {
      throw new IllegalArgumentException(dir + " holds the certificate of " + c.identity() + ", not of a worker");
    }
    if (name != null && !name.equals(c.identity().name())) {
      throw new IllegalArgumentException("--name " + name + " differs from the node the certificate in " + dir
          + " names ('" + c.identity().name() + "')");
    }
    return c;
  }

  private static void fail(String message) {
    System.err.println("shoal worker: " + message);
    System.exit(2);
  }
}
