package dev.shoal.cli;

import dev.shoal.plan.graph.PlanProducer;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterYaml;
import dev.shoal.plan.solve.Solvers;
import dev.shoal.runtime.coordinator.ClusterServing;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.gateway.ApiKeys;
import dev.shoal.runtime.gateway.GatewayOptions;
import dev.shoal.runtime.gateway.GatewaySecurity;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.fluid.AutoMode;
import dev.shoal.runtime.fluid.FluidBackend;
import dev.shoal.plan.strategy.FluidProducer;
import dev.shoal.runtime.serving.LocalBackend;
import dev.shoal.runtime.coordinator.WorkerLeases;
import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.NodeRole;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.wire.GrpcChannels.HostPort;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal serve}: the coordinator and gateway of a cluster of {@code shoal worker}s. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Serve a model on a cluster of running `shoal worker`s (their addresses are in",
      "the cluster file), one of:",
      "  --model M.onnx        profile, plan (pipeline model parallelism), deploy the",
      "                        stages; re-plan on the survivors when a worker fails",
      "  --variants DIR        variant parallelism (DIR/family.json): the variants",
      "                        placed by the cost model, top-k answers fused by summed scores",
      "  --class-parallel DIR  class parallelism (DIR/class-parallel.json): the",
      "                        sub-models placed by the cost model, class scores concatenated",
      "  --fluid DIR           a Fluid network (DIR/fluid.json, from `shoal train fluid`):",
      "                        group k on the cluster's k-th device, served in --mode;",
      "                        the admin API switches modes (high-accuracy, high-throughput, auto)",
      "  --separable DIR       width parallelism: a separable network exported by",
      "                        `shoal search-policy` (--policy P.json picks the export",
      "                        of that policy), one part per device, peers exchanging",
      "                        their chunks directly",
      "  --plan P.json         plans written by `shoal plan --out` (repeat for several",
      "                        plans of one model; the first is active)",
      "  --local M.onnx        one ONNX Runtime session in this process (no cluster)",
      "Serves the KServe v2 inference protocol over HTTP (/v2/...) and gRPC,",
      "Prometheus /metrics and a status page (/) until Ctrl-C or SIGTERM.",
      "Beyond loopback it needs --api-keys (inference, model metadata and the admin",
      "calls then need a key); --tls-cert/--tls-key put TLS on both ports.",
      ""
    })
public final class ServeCommand implements Callable<Integer> {

  static final class What {
    @Option(names = "--model", paramLabel = "M.onnx", required = true, description = "the model to split into a pipeline")
    Path model;

    @Option(names = "--variants", paramLabel = "DIR", required = true,
        description = "a variant family (family.json, from `shoal train variants`)")
    Path variants;

    @Option(names = "--class-parallel", paramLabel = "DIR", required = true,
        description = "class-parallel sub-models (class-parallel.json, from `shoal train class`)")
    Path classParallel;

    @Option(names = "--fluid", paramLabel = "DIR", required = true,
        description = "a Fluid network (fluid.json, from `shoal train fluid`, e.g. models/fashion/fluid/g2)")
    Path fluid;

    @Option(names = "--separable", paramLabel = "DIR", required = true,
        description = "a separable network's export (separable.json), or a directory of exports with --policy")
    Path separable;

    @Option(names = "--plan", paramLabel = "P.json", required = true,
        description = "a plan graph from `shoal plan --out`; repeat for several plans of one model")
    List<Path> plans;

    @Option(names = "--local", paramLabel = "M.onnx", required = true,
        description = "serve the model from one ONNX Runtime session in this process")
    Path local;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  What what;

  @Option(names = "--policy", paramLabel = "P.json",
      description = "--separable: serve the export of this transmission policy (policy.json of `shoal search-policy`)")
  Path policy;

  @Option(names = "--cluster", paramLabel = "C.yaml",
      description = "the cluster spec; every device gives its worker's address (all but --local)")
  Path cluster;

  @Option(names = "--solver", defaultValue = "exact",
      description = "--model: exact, heuristic, greedy or random (default: ${DEFAULT-VALUE})")
  String solver;

  @Option(names = "--replicate",
      description = "--model: replicate bottleneck stages on the devices the plan leaves unused (round robin)")
  boolean replicate;

  @Option(names = "--codec", defaultValue = "raw",
      description = "--model: codec of the links between stages: raw, fp16, int8, int8c, int4, sparse, sparse-fp16, "
          + "sparse-int8, lz4 or zstd, optionally +lz4 or +zstd, e.g. int8c+zstd (default: ${DEFAULT-VALUE})")
  String codec;

  @Option(names = "--deadline-ms", defaultValue = "500",
      description = "--variants/--class-parallel: wait this long for the members, then answer from those that "
          + "arrived, marked degraded (default: ${DEFAULT-VALUE})")
  long deadlineMs;

  @Option(names = "--mode", defaultValue = FluidProducer.HIGH_ACCURACY,
      description = "--fluid: high-accuracy (devices cooperate, combined network), high-throughput (each request to "
          + "the least-loaded device's sub-network) or auto (high-accuracy until requests queue, then "
          + "high-throughput, back when the load falls) (default: ${DEFAULT-VALUE})")
  String mode;

  @Option(names = "--http", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:8000",
      description = "KServe v2 REST, /metrics and the status page (default: ${DEFAULT-VALUE})")
  String http;

  @Option(names = "--grpc", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:8001",
      description = "KServe v2 gRPC (default: ${DEFAULT-VALUE})")
  String grpc;

  @Option(names = "--credentials", paramLabel = "DIR",
      description = "the coordinator's directory from `shoal certs` (ca.pem, node.pem, node.key); all but --local")
  Path credentials;

  @Option(names = "--take-over",
      description = "take the workers' leases even while another coordinator holds them (it stops being ready)")
  boolean takeOver;

  @Option(names = "--timeout-ms", defaultValue = "30000",
      description = "longest a request may take before it fails (default: ${DEFAULT-VALUE})")
  long timeoutMs;

  @Option(names = "--api-keys", paramLabel = "FILE",
      description = "API keys (from `shoal keys add`) that inference, model metadata and admin calls need")
  Path apiKeys;

  @Option(names = "--keyed-health",
      description = "health, metrics and the status page need a key too (default: open for probes)")
  boolean keyedHealth;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "TLS certificate chain for the REST and gRPC ports")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "the PKCS#8 private key of --tls-cert")
  Path tlsKey;

  @Option(names = "--max-request-mib", defaultValue = "16",
      description = "largest request body, and largest decoded tensors of one request (default: ${DEFAULT-VALUE})")
  int maxRequestMib;

  @Option(names = "--max-batch", defaultValue = "0",
      description = "largest batch (leading dimension) per request, 413 beyond; 0: no limit (default: ${DEFAULT-VALUE})")
  long maxBatch;

  @Override
  public Integer call() throws Exception {
    HostPort httpAt = HostPort.parse(http);
    HostPort grpcAt = HostPort.parse(grpc);
    if (what.fluid != null && !List.of(FluidProducer.HIGH_ACCURACY, FluidProducer.HIGH_THROUGHPUT, FluidBackend.AUTO)
        .contains(mode)) {
      throw new IllegalArgumentException("--mode must be " + FluidProducer.HIGH_ACCURACY + ", "
          + FluidProducer.HIGH_THROUGHPUT + " or " + FluidBackend.AUTO + ", got '" + mode + "'");
    }
    if (deadlineMs < 1 || timeoutMs < 1) {
      throw new IllegalArgumentException("--deadline-ms and --timeout-ms must be >= 1");
    }
    GatewaySecurity api = new GatewaySecurity(apiKeys == null ? ApiKeys.none() : ApiKeys.load(apiKeys),
        keyedHealth, tlsCert, tlsKey);
    GatewayOptions limits = GatewayOptions.defaults().withMaxRequestBytes((long) maxRequestMib << 20)
        .withRequestTimeout(Duration.ofMillis(timeoutMs)).withMaxBatch(maxBatch);
    if (what.local != null) {
      String name = ClusterServing.modelName(what.local);
      LocalBackend local = LocalBackend.open(name, what.local, LocalBackend.Options.DEFAULT);
      return serve(new ClusterServing.Served(local, "one local ONNX Runtime session of " + what.local + "\n"),
          httpAt, grpcAt, limits, api, () -> "");
    }
    if (cluster == null || credentials == null) {
      throw new IllegalArgumentException("--cluster C.yaml and --credentials DIR are needed to serve on workers "
          + "(or use --local M.onnx)");
    }
    if (policy != null && what.separable == null) {
      throw new IllegalArgumentException("--policy goes with --separable DIR");
    }
    Cluster spec = ClusterYaml.read(cluster);
    NodeCredentials node = NodeCredentials.load(credentials);
    if (node.identity().role() != NodeRole.COORDINATOR) {
      throw new IllegalArgumentException(credentials + " holds the certificate of " + node.identity()
          + ", not of a coordinator");
    }
    PeerSecurity security = PeerSecurity.mutualTls(node, takeOver);
    Duration deadline = Duration.ofMillis(deadlineMs);
    System.err.println("serve: " + spec.devices().size() + " devices in " + cluster + "; deploying ...");
    if (what.fluid != null) {
      FluidBackend fluid = FluidBackend.start(what.fluid, ClusterServing.workers(spec), security, mode, Map.of(),
          AutoMode.Options.DEFAULT);
      return serve(new ClusterServing.Served(fluid, String.join("\n", fluid.status()) + "\n"), httpAt, grpcAt, limits,
          api, () -> " (released " + WorkerLeases.release(ClusterServing.workers(spec), security) + " worker leases)");
    }
    List<PlanProducer> plans = new ArrayList<>();
    if (what.model != null) {
      plans.add(ClusterServing.pipeline(what.model, spec, Solvers.byName(solver, 1), codec, replicate));
    } else if (what.variants != null) {
      plans.add(ClusterServing.variants(what.variants, spec, deadline));
    } else if (what.separable != null) {
      plans.add(ClusterServing.separable(what.separable, java.util.Optional.ofNullable(policy)));
    } else if (what.classParallel != null) {
      plans.add(ClusterServing.classParallel(what.classParallel, spec, deadline));
    } else {
      what.plans.forEach(p -> plans.add(ClusterServing.written(p)));
    }
    ClusterServing.Served served = ClusterServing.serve(plans, spec, security, PlanBackend.Options.DEFAULT);
    return serve(served, httpAt, grpcAt, limits, api,
        () -> " (released " + WorkerLeases.release(ClusterServing.workers(spec), security) + " worker leases)");
  }

  /**
   * Serves {@code served} through the gateway until the process is stopped.
   *
   * @param release runs at shutdown after the backend closed, and says what it released
   */
  private static int serve(ClusterServing.Served served, HostPort httpAt, HostPort grpcAt, GatewayOptions limits,
      GatewaySecurity security, Supplier<String> release) throws InterruptedException {
    Gateway gateway;
    try {
      gateway = Gateway.start(served.backend(), new InetSocketAddress(httpAt.host(), httpAt.port()),
          new InetSocketAddress(grpcAt.host(), grpcAt.port()), limits, security);
    } catch (RuntimeException e) {
      served.backend().close();
      throw e;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.err.println("serve: stopping ...");
      gateway.close();
      served.backend().close();
      System.err.println("serve: stopped" + release.get());
      stopped.countDown();
    }, "shoal-serve-shutdown"));
    System.out.print(served.plan());
    String model = served.backend().models().get(0).name();
    String base = (security.tls() ? "https://" : "http://") + httpAt.host() + ":" + gateway.httpPort();
    System.out.println("serving '" + model + "':");
    System.out.println("  KServe v2 REST  " + base + "/v2/models/" + model + "/infer");
    System.out.println("  KServe v2 gRPC  " + grpcAt.host() + ":" + gateway.grpcPort());
    System.out.println("  metrics         " + base + "/metrics");
    System.out.println("  status page     " + base + "/");
    System.out.println("  API keys        " + (security.keys().isEmpty() ? "none (open, loopback only)"
        : security.keys().size() + " (Authorization: Bearer <key>)") + (security.tls() ? "; TLS on" : ""));
    System.out.println("serve: listening on " + httpAt.host() + ":" + gateway.httpPort() + " (REST), "
        + grpcAt.host() + ":" + gateway.grpcPort() + " (gRPC)");
    System.out.println("Ctrl-C or SIGTERM stops it.");
    System.out.flush();
    stopped.await();
    return 0;
  }
}
