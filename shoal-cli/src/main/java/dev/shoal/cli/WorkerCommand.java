package dev.shoal.cli;

import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.wire.GrpcChannels.HostPort;
import dev.shoal.runtime.worker.WorkerConfig;
import dev.shoal.runtime.worker.WorkerMain;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal worker}: a long-running worker that hosts one pipeline stage at a time. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = {
      "Run a Shoal worker: takes stage deployments from a coordinator, runs its stage in ONNX Runtime and",
      "forwards outputs straight to the next stage's worker. Every link is mutual TLS 1.3 with the",
      "cluster's certificates (see `shoal certs`); the worker serves one coordinator at a time, under a lease."
    })
public final class WorkerCommand implements Callable<Integer> {

  @Option(names = "--listen", defaultValue = "127.0.0.1:7070", description = "HOST:PORT to serve on (port 0: any free one; default ${DEFAULT-VALUE})")
  String listen;

  @Option(names = "--data-port", defaultValue = "0", description = {"port of the data plane (frames between stages, results to the coordinator),",
      "on the --listen host; 0: any free one, announced to the coordinator in heartbeats (default ${DEFAULT-VALUE})"})
  int dataPort;

  @Option(names = "--name", description = "device name, as the cluster file calls it (default: the one its certificate names)")
  String name;

  @Option(names = "--credentials", paramLabel = "DIR", required = true,
      description = "this node's directory from `shoal certs` (ca.pem, node.pem, node.key)")
  Path credentials;

  @Option(names = "--slowdown", defaultValue = "1", description = {"emulate a device K times slower: hold each frame until K x the stage's compute on the",
      "reference host has passed (the planner's profiled time, else the stage's warm run here) (default ${DEFAULT-VALUE})"})
  double slowdown;

  @Option(names = "--threads", defaultValue = "1", description = "ONNX Runtime intra-op threads (default ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--queue", defaultValue = "" + WorkerConfig.DEFAULT_QUEUE_CAPACITY, description = "frames queued before senders are held back (default ${DEFAULT-VALUE})")
  int queue;

  @Option(names = "--max-frame-mb", defaultValue = "64", description = "largest frame accepted, MiB (default ${DEFAULT-VALUE})")
  int maxFrameMb;

  @Override
  public Integer call() throws Exception {
    HostPort hp;
    WorkerConfig config;
    try {
      hp = HostPort.parse(listen);
      PeerSecurity security = PeerSecurity.mutualTls(WorkerMain.workerCredentials(credentials, name));
      config = new WorkerConfig(hp.host(), hp.port(), dataPort, security.self().name(), slowdown, threads, queue,
          Math.min(maxFrameMb, 1024) << 20, security);
    } catch (IllegalArgumentException e) {
      System.err.println("shoal worker: " + e.getMessage());
      return 2;
    }
    WorkerMain.run(config);
    return 0;
  }
}
