package dev.shoal.bench.dataplane;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.bench.BenchCerts;
import dev.shoal.bench.KServeClient;
import dev.shoal.bench.LoadAverage;
import dev.shoal.bench.ResultTable;
import dev.shoal.bench.Percentiles;
import dev.shoal.bench.pipeline.TransportOverhead;
import dev.shoal.bench.variants.Latencies;
import dev.shoal.model.TensorData;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.family.VariantFamilyManifest;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.model.split.StageChain;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterDevice;
import dev.shoal.plan.cluster.DeviceSpeed;
import dev.shoal.plan.graph.Batching;
import dev.shoal.plan.graph.Plan;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.PlanProducer;
import dev.shoal.plan.graph.Predicted;
import dev.shoal.plan.graph.Stage;
import dev.shoal.plan.strategy.Chains;
import dev.shoal.plan.strategy.EnsembleProducer;
import dev.shoal.plan.strategy.FixedPlacement;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.security.NodeRole;
import dev.shoal.runtime.security.PeerIdentity;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.serving.LocalBackend;
import dev.shoal.runtime.worker.WorkerProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code shoal bench dataplane}: the runtime's data path against its floors, side by side in one
 * run on this host (package comment). Every served request goes through the gateway's KServe v2
 * REST API with binary tensor data, to worker processes on loopback linked by mutual TLS; the
 * transport section compares plaintext with plaintext. Prints one table per section and writes
 * {@code dataplane.csv} and {@code dataplane.json} (all rows, with the settings and load average).
 */
public final class DataplaneBench {

  /**
   * @param resolution, width the ResNet-style model ({@link ModelZoo#resNet50Like})
   * @param rounds one-at-a-time requests per path (latency, variants)
   * @param seconds length of each concurrent-load measurement
   * @param connections requests kept in flight
   * @param batching dynamic batching of the concurrent section's second served run; null: skipped
   * @param slowdown emulated device slowdown of the replicated-plan section's workers
   * @param variantSlowdown section (d) again on workers emulating devices this many times slower; 1: not
   * @param switches plan switches under load
   * @param warmUpSeconds unmeasured load through the pipeline before the first section (JIT warm-up)
   * @param sections the sections to run, by letter ({@link #ALL_SECTIONS})
   */
  public record Config(Path out, Path models, int resolution, double width, int stages, int rounds, double seconds,
      int connections, int transportSamples, Batching batching, double slowdown, double variantSlowdown, int switches,
      double warmUpSeconds, Set<Character> sections) {
    public Config {
      sections = Set.copyOf(sections);
      for (char c : sections) {
        if (ALL_SECTIONS.indexOf(c) < 0) {
          throw new IllegalArgumentException("unknown section '" + c + "': the sections are " + ALL_SECTIONS);
        }
      }
      if (sections.isEmpty()) {
        throw new IllegalArgumentException("no section to run: the sections are " + ALL_SECTIONS);
      }
    }

    boolean runs(char section) {
      return sections.contains(section);
    }
  }

  /** Every section's letter, in the order they run (c last: it starts processes of its own). */
  public static final String ALL_SECTIONS = "abdfgec";
  /** Section (g)'s wait after the deployment, before it measures: the deployment's own work settles. */
  private static final double IDLE_SETTLE_SECONDS = 5;

  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();
  private static final int DISTINCT_INPUTS = 8;

  private final Config config;
  private final PrintStream log;
  private final Path work;
  private LatencyFloorInputs latencyFloor;
  private final ResultTable table = new ResultTable("section", "measure", "served", "baseline", "ratio", "target",
      "unit", "note");

  private DataplaneBench(Config config, PrintStream log) throws IOException {
    this.config = config;
    this.log = log;
    this.work = Files.createDirectories(config.out().resolve("work"));
  }

  public static ResultTable run(Config config, PrintStream log) throws Exception {
    return new DataplaneBench(config, log).run();
  }

  /** The model, its stages, an in-process chain of them, and inputs with their expected outputs. */
  private record Pipeline(String name, ModelProfile profile, Split split, StageChain chain, List<Load.Sample> samples) {
    List<byte[]> stageBytes() {
      return split.stages().stream().map(s -> s.model().toByteArray()).toList();
    }

    /**
     * Bytes of each one-way transfer a served request makes: client to gateway and coordinator to
     * the first stage (the input), every cut, the last stage to the coordinator and gateway to
     * client (the output).
     */
    List<Long> transfers() {
      Load.Sample s = samples.get(0);
      List<Long> out = new ArrayList<>(List.of((long) s.input().data().length, (long) s.input().data().length));
      for (int i = 0; i < split.stages().size() - 1; i++) {
        out.add(profile.nodes().get(split.stages().get(i).lastPosition()).cutBytes());
      }
      out.add((long) s.expected().data().length);
      out.add((long) s.expected().data().length);
      return out;
    }
  }

  /** Section (a)'s in-process p50 and the request's transfers, for the floor derived after (c). */
  private record LatencyFloorInputs(double chainP50Ms, List<Long> transfers) {}

  private ResultTable run() throws Exception {
    ModelProto proto = ModelZoo.resNet50Like(config.resolution(), config.width(), 10, 1);
    ModelProfile profile = ModelProfile.of(ModelGraph.of(proto, "resnet"));
    Split split = ModelSplitter.split(profile, ModelSplitter.balancedCuts(profile, config.stages()));
    String modelName = "resnet";
    log.printf(Locale.ROOT, "bench dataplane: ResNet-style model %dx%d width %.2f: %d nodes, %.1f M MACs, %d stages;"
        + " load average %s%n", config.resolution(), config.resolution(), config.width(), profile.nodes().size(),
        profile.totalMacs() / 1e6, config.stages(), LoadAverage.now().oneMinuteText());
    table.meta("model", String.format(Locale.ROOT, "ResNet-50-style %dx%d width %.2f (zoo, random weights)",
        config.resolution(), config.resolution(), config.width()));
    table.meta("nodes", profile.nodes().size());
    table.meta("macs", profile.totalMacs());
    table.meta("stages", config.stages());
    table.meta("connections", config.connections());
    table.meta("warm_up_seconds", config.warmUpSeconds());
    table.meta("sections", ALL_SECTIONS.chars().filter(c -> config.runs((char) c))
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString());
    table.meta("host_cpus", Runtime.getRuntime().availableProcessors());
    table.meta("load_average_at_start", LoadAverage.now().oneMinuteText());
    List<String> workers = new ArrayList<>();
    for (int i = 1; i <= Math.max(config.stages(), 4); i++) {
      workers.add("w" + i);
    }
    List<String> slow = List.of("r1", "r2", "r3");
    List<String> edge = List.of("v1", "v2", "v3", "v4");
    List<String> nodes = new ArrayList<>(workers);
    nodes.addAll(slow);
    nodes.addAll(edge);
    Path certs = BenchCerts.provision(work.resolve("certs"), nodes);
    PeerSecurity security = BenchCerts.coordinator(certs);
    try (StageChain chain = StageChain.open(split, new OnnxSession.Options(1, false))) {
      Pipeline p = new Pipeline(modelName, profile, split, chain, samples(profile, chain));
      List<WorkerProcess> processes = new ArrayList<>();
      try {
        List<WorkerEndpoint> endpoints = startWorkers(workers, 1.0, certs, processes);
        List<Long> pids = new ArrayList<>(List.of(ProcessHandle.current().pid()));
        processes.forEach(wp -> pids.add(wp.pid()));
        if (config.runs('a') || config.runs('b') || config.runs('d') || config.runs('f') || config.runs('g')) {
          warmUp(p, endpoints, security, pids);
        }
        double computeCpuMs;
        if (config.runs('a')) {
          // (a) also runs the pipeline over plaintext links, to show TLS's share of a hop
          List<WorkerProcess> plain = new ArrayList<>();
          try (BarePipeline bare = BarePipeline.start(split, p.samples().get(0).expected(), work.resolve("bare"))) {
            List<WorkerEndpoint> plainEndpoints = startWorkers(workers.subList(0, config.stages()).stream()
                .map(w -> "plain-" + w).toList(), 1.0, null, plain);
            PeerSecurity plaintext = PeerSecurity.insecurePlaintext(
                new PeerIdentity(BenchCerts.COORDINATOR, NodeRole.COORDINATOR));
            List<Long> plainPids = new ArrayList<>(List.of(ProcessHandle.current().pid()));
            plain.forEach(wp -> plainPids.add(wp.pid()));
            warmUp(p, plainEndpoints, plaintext, plainPids);
            computeCpuMs = latency(p, proto, endpoints, security, plainEndpoints, plaintext, bare);
          } finally {
            plain.forEach(WorkerProcess::close);
          }
        } else {
          computeCpuMs = Double.NaN;
        }
        if (config.runs('b')) {
          // (b) compares its CPU with the chain's, which (a) measures: without (a), a short run of the chain
          concurrency(p, proto, endpoints, security, pids, config.runs('a') ? computeCpuMs : chainCpuMs(p));
        }
        if (config.runs('d')) {
          variants(endpoints, security, 1);
        }
        if (config.runs('f')) {
          switching(p, profile, endpoints, security);
        }
        if (config.runs('g')) {
          idle(p, endpoints, security, pids);
        }
      } finally {
        processes.forEach(WorkerProcess::close);
      }
      if (config.runs('e')) {
        replicated(profile, certs, slow, security);
      }
      if (config.runs('d') && config.variantSlowdown() > 1) {
        variantsOnEdgeDevices(certs, edge, security);
      }
    }
    if (config.runs('c')) {
      transport();
    }
    table.meta("load_average_at_end", LoadAverage.now().oneMinuteText());
    log.println();
    table.print(log);
    table.writeCsv(config.out().resolve("dataplane.csv"));
    table.writeJson(config.out().resolve("dataplane.json"));
    log.println("bench dataplane: results in " + config.out());
    return table;
  }

  /**
   * Starts a worker process per name on loopback, emulating devices {@code slowdown} times slower
   * than this host, each added to {@code started} as it starts (the caller closes them); with
   * {@code certs} null, in plaintext.
   */
  private List<WorkerEndpoint> startWorkers(List<String> names, double slowdown, Path certs,
      List<WorkerProcess> started) throws IOException {
    List<WorkerEndpoint> endpoints = new ArrayList<>();
    for (String w : names) {
      WorkerProcess wp = WorkerProcess.start(List.of(), w, "127.0.0.1:0", slowdown, certs == null ? null : certs.resolve(w),
          work.resolve(w + ".log"));
      started.add(wp);
      endpoints.add(new WorkerEndpoint(w, wp.address()));
    }
    return endpoints;
  }

  /** Distinct random inputs and the chain's outputs for them. */
  private static List<Load.Sample> samples(ModelProfile profile, StageChain chain) {
    List<Load.Sample> out = new ArrayList<>();
    for (int i = 0; i < DISTINCT_INPUTS; i++) {
      Map<String, TensorData> in = SampleInputs.random(profile.graph(), 1, 100 + i);
      TensorData x = in.values().iterator().next();
      out.add(new Load.Sample(x, chain.run(in).values().iterator().next()));
    }
    return out;
  }

  private static PlanProducer chainPlan(String model, String plan, List<byte[]> stages, List<String> devices,
      Batching batching) {
    FixedPlacement fixed = FixedPlacement.chain(model, plan, stages, devices, "raw", new double[stages.size()]);
    if (batching == null || !batching.enabled()) {
      return fixed;
    }
    PlanBundle b = fixed.original();
    List<Stage> batched = b.plan().stages().stream().map(s -> s.withBatching(batching)).toList();
    return new FixedPlacement(b.with(b.plan().withStages(batched)));
  }

  /**
   * Runs the pipeline under load, unmeasured: the workers, the gateway and the coordinator start
   * as cold JVMs whose JIT compilers were still busy after a thousand requests; measured on a cold
   * start, a request's CPU was mostly compilation (docs/runtime.md, "Where a hop's time goes").
   * Prints the JIT's share of the CPU in the last quarter of the warm-up, to show it has settled.
   */
  private void warmUp(Pipeline p, List<WorkerEndpoint> workers, PeerSecurity security, List<Long> pids)
      throws IOException {
    if (config.warmUpSeconds() <= 0) {
      return;
    }
    log.printf(Locale.ROOT, "%n== warm-up: %.0f s of %d requests in flight through the pipeline over REST (%s links),"
        + " unmeasured%n", config.warmUpSeconds(), config.connections(), security.tls() ? "mutual-TLS" : "plaintext");
    List<String> devices = workers.subList(0, config.stages()).stream().map(WorkerEndpoint::name).toList();
    try (PlanBackend backend = PlanBackend.start(workers, List.of(chainPlan(p.name(), "pipeline", p.stageBytes(),
        devices, null)), security, PlanBackend.Options.DEFAULT);
        Gateway gateway = Gateway.start(backend, 0, 0)) {
      Load.run(gateway.httpPort(), p.name(), p.samples(), config.connections(), config.warmUpSeconds() * 0.75);
      Map<String, Long> before = ProcessCpu.ticksByThreadKind(pids);
      Load.Result r = Load.run(gateway.httpPort(), p.name(), p.samples(), config.connections(),
          config.warmUpSeconds() * 0.25);
      double all = 0;
      double jit = 0;
      for (Map.Entry<String, Double> e : ProcessCpu.millisBetween(before, ProcessCpu.ticksByThreadKind(pids))) {
        all += e.getValue();
        jit += e.getKey().startsWith("C# CompilerThre") ? e.getValue() : 0;
      }
      log.printf(Locale.ROOT, "  last quarter: %.1f/s, %d failed, %d wrong; JIT compiler threads %.0f%% of the CPU"
          + " (load %s)%n", r.perSecond(), r.failed(), r.wrong(), all == 0 ? 0 : 100 * jit / all,
          LoadAverage.now().oneMinuteText());
    }
  }

  /**
   * (a) One request at a time over REST through the whole pipeline, interleaved with the same
   * stages chained in this process; returns the chain's CPU per request (ms), measured meanwhile.
   * Interleaved with them, to show where the difference goes: the same stages all on one worker
   * (handed over in process, no network hop between them), the whole model on one worker, the whole
   * model served by the gateway in this process (REST alone), the whole model in this process, the
   * pipeline on {@code plainWorkers}, linked in plaintext, and the stages in {@code bare} processes
   * (the floor under any multi-process pipeline).
   */
  private double latency(Pipeline p, ModelProto whole, List<WorkerEndpoint> workers, PeerSecurity security,
      List<WorkerEndpoint> plainWorkers, PeerSecurity plaintext, BarePipeline bare) throws IOException {
    log.printf("%n== (a) one request at a time: %d-stage pipeline over REST (binary) vs the stages chained in"
        + " process, %d interleaved rounds (with the stages on one worker, the whole model on one worker and in"
        + " process, the pipeline over plaintext links, and the stages in bare processes)%n", config.stages(),
        config.rounds());
    List<String> devices = workers.subList(0, config.stages()).stream().map(WorkerEndpoint::name).toList();
    List<String> oneDevice = Collections.nCopies(config.stages(), devices.get(0));
    List<WorkerEndpoint> first = workers.subList(0, 1);
    try (PlanBackend backend = PlanBackend.start(workers, List.of(chainPlan(p.name(), "pipeline", p.stageBytes(),
        devices, null)), security, PlanBackend.Options.DEFAULT);
        PlanBackend colocated = PlanBackend.start(first, List.of(chainPlan(p.name(), "one-worker", p.stageBytes(),
            oneDevice, null)), security, PlanBackend.Options.DEFAULT);
        PlanBackend wholeBackend = PlanBackend.start(first, List.of(chainPlan(p.name(), "whole",
            List.of(whole.toByteArray()), List.of(devices.get(0)), null)), security, PlanBackend.Options.DEFAULT);
        PlanBackend plainBackend = PlanBackend.start(plainWorkers, List.of(chainPlan(p.name(), "plaintext",
            p.stageBytes(), plainWorkers.stream().map(WorkerEndpoint::name).toList(), null)), plaintext,
            PlanBackend.Options.DEFAULT);
        Gateway gateway = Gateway.start(backend, 0, 0);
        Gateway colocatedGateway = Gateway.start(colocated, 0, 0);
        Gateway wholeGateway = Gateway.start(wholeBackend, 0, 0);
        Gateway plainGateway = Gateway.start(plainBackend, 0, 0);
        LocalBackend inGateway = LocalBackend.open(p.name(), whole.toByteArray(), new LocalBackend.Options(1, 1, 64));
        Gateway localGateway = Gateway.start(inGateway, 0, 0);
        KServeClient client = new KServeClient(gateway.httpPort(), p.name(), KServeClient.Encoding.BINARY);
        KServeClient colocatedClient = new KServeClient(colocatedGateway.httpPort(), p.name(),
            KServeClient.Encoding.BINARY);
        KServeClient wholeClient = new KServeClient(wholeGateway.httpPort(), p.name(), KServeClient.Encoding.BINARY);
        KServeClient plainClient = new KServeClient(plainGateway.httpPort(), p.name(), KServeClient.Encoding.BINARY);
        KServeClient localClient = new KServeClient(localGateway.httpPort(), p.name(), KServeClient.Encoding.BINARY);
        OnnxSession wholeSession = OnnxSession.open(whole.toByteArray(), new OnnxSession.Options(1, false))) {
      int warmup = Math.max(20, config.rounds() / 5);
      double[] served = new double[config.rounds()];
      double[] local = new double[config.rounds()];
      double[] cpu = new double[config.rounds()];
      double[] servedOnOne = new double[config.rounds()];
      double[] servedWhole = new double[config.rounds()];
      double[] localWhole = new double[config.rounds()];
      double[] servedPlain = new double[config.rounds()];
      double[] servedLocal = new double[config.rounds()];
      double[] bareChain = new double[config.rounds()];
      int wrong = 0;
      for (int r = -warmup; r < config.rounds(); r++) {
        Load.Sample s = p.samples().get(Math.floorMod(r, p.samples().size()));
        Map<String, TensorData> feed = Map.of(s.input().name(), s.input());
        long t0 = System.nanoTime();
        KServeClient.Answer reply = client.infer(s.input()).orThrow();
        long t1 = System.nanoTime();
        long c0 = CPU.getCurrentThreadCpuTime();
        p.chain().run(feed);
        long c1 = CPU.getCurrentThreadCpuTime();
        long t2 = System.nanoTime();
        KServeClient.Answer onOne = colocatedClient.infer(s.input()).orThrow();
        long t3 = System.nanoTime();
        KServeClient.Answer wholeReply = wholeClient.infer(s.input()).orThrow();
        long t4 = System.nanoTime();
        wholeSession.run(feed);
        long t5 = System.nanoTime();
        KServeClient.Answer plainReply = plainClient.infer(s.input()).orThrow();
        long t6 = System.nanoTime();
        KServeClient.Answer localReply = localClient.infer(s.input()).orThrow();
        long t7 = System.nanoTime();
        TensorData bareAnswer = bare.infer(s.input());
        long t8 = System.nanoTime();
        if (r >= 0) {
          served[r] = (t1 - t0) / 1e6;
          local[r] = (t2 - t1) / 1e6;
          cpu[r] = (c1 - c0) / 1e6;
          servedOnOne[r] = (t3 - t2) / 1e6;
          servedWhole[r] = (t4 - t3) / 1e6;
          localWhole[r] = (t5 - t4) / 1e6;
          servedPlain[r] = (t6 - t5) / 1e6;
          servedLocal[r] = (t7 - t6) / 1e6;
          bareChain[r] = (t8 - t7) / 1e6;
          wrong += Load.close(bareAnswer, s.expected()) ? 0 : 1;
          for (KServeClient.Answer a : List.of(reply, onOne, wholeReply, plainReply, localReply)) {
            wrong += Load.close(a.outputs().get(s.expected().name()), s.expected()) ? 0 : 1;
          }
        }
      }
      Percentiles ps = Percentiles.of(served);
      Percentiles pl = Percentiles.of(local);
      double cpuMs = Arrays.stream(cpu).average().orElse(Double.NaN);
      latencyFloor = new LatencyFloorInputs(pl.p50(), p.transfers());
      row("a latency", "p50 ms, 1 in flight", ps.p50(), pl.p50(), "<= 1.25", "ms",
          String.format(Locale.ROOT, "p99 %.2f vs %.2f; %d wrong answers (of the six paths checked);"
              + " in-process CPU %.2f ms/request", ps.p99(), pl.p99(), wrong, cpuMs));
      double bareMs = Percentiles.of(bareChain).p50();
      row("a latency", "floor: the stages in bare processes, p50 ms", bareMs, pl.p50(), "report", "ms",
          String.format(Locale.ROOT, "%d processes, one ONNX Runtime session each reading and writing direct buffers,"
              + " linked by blocking plaintext sockets, no runtime; vs the in-process chain: the least separate"
              + " processes cost here", config.stages()));
      row("a latency", "p50 ms, the pipeline over that floor", ps.p50(), bareMs, "report", "ms",
          "what Shoal's runtime adds on top of running the stages in separate processes (REST, coordinator, TLS,"
              + " framing, checksums, copies)");
      double onOneMs = Percentiles.of(servedOnOne).p50();
      double wholeServedMs = Percentiles.of(servedWhole).p50();
      double wholeLocalMs = Percentiles.of(localWhole).p50();
      row("a breakdown", "p50 ms, the stages on one worker", onOneMs, pl.p50(), "report", "ms",
          "handed over in process between stages: no network hop; vs the in-process chain");
      row("a breakdown", "p50 ms, the whole model on one worker", wholeServedMs, wholeLocalMs, "report", "ms",
          "vs the whole model in process");
      // What any served request pays besides compute (REST, coordinator, one worker round trip),
      // and what each network hop between stages adds on top of an in-process hand-over.
      row("a breakdown", "fixed cost per request, ms", wholeServedMs - wholeLocalMs, pl.p50(), "report", "ms",
          "derived: whole model on one worker - in process; ratio: its share of the chain's p50");
      double restMs = Percentiles.of(servedLocal).p50() - wholeLocalMs;
      row("a breakdown", "of which REST, ms", restMs, wholeServedMs - wholeLocalMs, "report", "ms",
          "derived: whole model served by the gateway in process (no worker) - in process; ratio: its share of the"
              + " fixed cost; the rest is the coordinator's round trip to the worker");
      row("a breakdown", "per network hop between stages, ms", (ps.p50() - onOneMs) / (config.stages() - 1), pl.p50(),
          "report", "ms", String.format(Locale.ROOT, "derived: (pipeline - stages on one worker) / %d hops",
              config.stages() - 1));
      double plainMs = Percentiles.of(servedPlain).p50();
      row("a breakdown", "p50 ms, the pipeline over plaintext links", plainMs, ps.p50(), "report", "ms",
          "4 more workers, linked without TLS (measurement only: a cluster always runs mutual TLS); vs the pipeline");
      row("a breakdown", "TLS per link, ms", (ps.p50() - plainMs) / (config.stages() + 1), pl.p50(), "report", "ms",
          String.format(Locale.ROOT, "derived: (pipeline - plaintext pipeline) / %d links (coordinator to the first"
              + " stage, %d cuts, the last stage to the coordinator)", config.stages() + 1, config.stages() - 1));
      return cpuMs;
    }
  }

  /** The in-process chain's CPU per request (ms), the mean of a short run, when section (a) does not run. */
  private double chainCpuMs(Pipeline p) {
    Load.Sample s = p.samples().get(0);
    Map<String, TensorData> feed = Map.of(s.input().name(), s.input());
    double[] cpu = new double[Math.max(20, config.rounds() / 2)];
    for (int r = -10; r < cpu.length; r++) {
      long c0 = CPU.getCurrentThreadCpuTime();
      p.chain().run(feed);
      if (r >= 0) {
        cpu[r] = (CPU.getCurrentThreadCpuTime() - c0) / 1e6;
      }
    }
    return Arrays.stream(cpu).average().orElseThrow();
  }

  /**
   * (b) {@code connections} requests in flight over REST: CPU per request over every process, and
   * throughput against two in-process sessions of the whole model; then with dynamic batching.
   * Served and in-process runs alternate, twice, so that drift in load hits both.
   */
  private void concurrency(Pipeline p, ModelProto whole, List<WorkerEndpoint> workers, PeerSecurity security,
      List<Long> pids, double computeCpuMs) throws Exception {
    log.printf("%n== (b) %d requests in flight, %.0f s per run: CPU per request over all %d processes, throughput vs"
        + " two in-process sessions of the whole model%n", config.connections(), config.seconds(), pids.size());
    List<String> devices = workers.subList(0, config.stages()).stream().map(WorkerEndpoint::name).toList();
    List<Batching> modes = new ArrayList<>();
    modes.add(Batching.NONE);
    if (config.batching() != null && config.batching().enabled()) {
      modes.add(config.batching());
    }
    double[] inProcess = new double[2];
    Map<Batching, List<double[]>> served = new LinkedHashMap<>(); // per mode: {req/s, cpu ms/req, failed, wrong}
    modes.forEach(m -> served.put(m, new ArrayList<>()));
    try (OnnxSession a = OnnxSession.open(whole.toByteArray(), new OnnxSession.Options(1, false));
        OnnxSession b = OnnxSession.open(whole.toByteArray(), new OnnxSession.Options(1, false))) {
      for (int round = 0; round < 2; round++) {
        inProcess[round] = twoSessions(a, b, p.samples().get(0).input());
        log.printf(Locale.ROOT, "  round %d: two in-process sessions %.1f/s (load %s)%n", round + 1, inProcess[round],
            LoadAverage.now().oneMinuteText());
        for (Batching mode : modes) {
          try (PlanBackend backend = PlanBackend.start(workers, List.of(chainPlan(p.name(), "pipeline",
              p.stageBytes(), devices, mode)), security, PlanBackend.Options.DEFAULT);
              Gateway gateway = Gateway.start(backend, 0, 0)) {
            Load.run(gateway.httpPort(), p.name(), p.samples(), config.connections(), 1.0); // warm-up
            double cpu0 = ProcessCpu.seconds(pids);
            Map<String, Long> threads0 = ProcessCpu.ticksByThreadKind(pids);
            Load.Result r = Load.run(gateway.httpPort(), p.name(), p.samples(), config.connections(), config.seconds());
            double cpu = ProcessCpu.seconds(pids) - cpu0 - r.clientCpuSeconds(); // the load clients are not the server
            if (round == 1) {
              logWhereCpuGoes(ProcessCpu.millisBetween(threads0, ProcessCpu.ticksByThreadKind(pids)), r.answered());
            }
            served.get(mode).add(new double[] {r.perSecond(), cpu * 1e3 / Math.max(1, r.answered()), r.failed(),
                r.wrong(), r.latencyMs().p50()});
            log.printf(Locale.ROOT, "  round %d: served%s %.1f/s, p50 %.1f ms, CPU %.2f ms/request, %d failed, %d wrong"
                + " (load %s)%s%n", round + 1, mode.enabled() ? " with batching " + describe(mode) : "", r.perSecond(),
                r.latencyMs().p50(), cpu * 1e3 / Math.max(1, r.answered()), r.failed(), r.wrong(),
                LoadAverage.now().oneMinuteText(), r.errors().isEmpty() ? "" : " first error: " + r.errors().get(0));
          }
        }
      }
    }
    double twoSessions = Arrays.stream(inProcess).average().orElseThrow();
    for (Batching mode : modes) {
      List<double[]> runs = served.get(mode);
      double perSecond = runs.stream().mapToDouble(x -> x[0]).average().orElseThrow();
      double cpuMs = runs.stream().mapToDouble(x -> x[1]).average().orElseThrow();
      int failed = (int) runs.stream().mapToDouble(x -> x[2]).sum();
      int wrong = (int) runs.stream().mapToDouble(x -> x[3]).sum();
      double p50 = runs.stream().mapToDouble(x -> x[4]).average().orElseThrow();
      String label = mode.enabled() ? ", batching " + describe(mode) : "";
      row("b concurrency", "CPU ms/request" + label, cpuMs, computeCpuMs, mode.enabled() ? "report" : "<= 1.3", "ms",
          "all processes (gateway+coordinator, " + config.stages() + " workers; the load clients' threads subtracted)"
              + " vs in-process chain CPU");
      row("b concurrency", "throughput/s" + label, perSecond, twoSessions, mode.enabled() ? "report" : ">= 0.75",
          "req/s", String.format(Locale.ROOT, "p50 %.1f ms; %d failed, %d wrong; baseline: 2 sessions of the whole"
              + " model, 1 thread each", p50, failed, wrong));
    }
    // Cut into stages, the model costs more CPU than whole (the chain's CPU against the two
    // sessions'): a runtime that added nothing would still serve at most every core's time divided
    // by the chain's CPU per request.
    int cores = Runtime.getRuntime().availableProcessors();
    row("b concurrency", "floor: throughput/s at the chain's CPU, nothing added", cores * 1e3 / computeCpuMs, twoSessions,
        "report", "req/s", String.format(Locale.ROOT, "derived: %d cores / %.2f ms of chain CPU per request; ratio = the"
            + " most of the two sessions' rate an unbatched %d-stage plan reaches here", cores, computeCpuMs,
            config.stages()));
  }

  /** The thread kinds that used the most CPU per answered request (all processes; the load clients are "load-#"). */
  private void logWhereCpuGoes(List<Map.Entry<String, Double>> byKind, int answered) {
    StringBuilder line = new StringBuilder("    CPU ms/request by thread kind:");
    byKind.stream().limit(10).forEach(e -> line.append(String.format(Locale.ROOT, " %s %.2f;", e.getKey(),
        e.getValue() / Math.max(1, answered))));
    log.println(line);
  }

  private static String describe(Batching b) {
    return "max " + b.maxBatchSize() + ", preferred " + b.preferredBatchSizes() + ", delay " + b.maxQueueDelayMicros()
        + " us";
  }

  /** Two threads, each running the whole model in its own session, batch 1, for the configured time. */
  private double twoSessions(OnnxSession a, OnnxSession b, TensorData x) throws InterruptedException {
    Map<String, TensorData> feed = Map.of(x.name(), x);
    for (int i = 0; i < 5; i++) {
      a.run(feed);
      b.run(feed);
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger done = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    for (OnnxSession s : List.of(a, b)) {
      Thread t = new Thread(() -> {
        while (!stop.get()) {
          s.run(feed);
          done.incrementAndGet();
        }
      }, "in-process-session");
      threads.add(t);
    }
    long t0 = System.nanoTime();
    threads.forEach(Thread::start);
    Thread.sleep((long) (config.seconds() * 1e3));
    stop.set(true);
    for (Thread t : threads) {
      t.join();
    }
    return done.get() / ((System.nanoTime() - t0) / 1e9);
  }

  /**
   * (d) again on workers that emulate devices {@code variantSlowdown} times slower than this host
   * (the base on the first): compute, not this host's fixed serving cost, then decides.
   */
  private void variantsOnEdgeDevices(Path certs, List<String> edge, PeerSecurity security) throws IOException {
    List<WorkerProcess> processes = new ArrayList<>();
    try {
      variants(startWorkers(edge, config.variantSlowdown(), certs, processes), security, config.variantSlowdown());
    } finally {
      processes.forEach(WorkerProcess::close);
    }
  }

  /**
   * (d) Variant parallelism one request at a time over REST: the ensemble's served speed-up over
   * the base against its compute-only ceiling (base / slowest variant, in process, same run), on
   * {@code workers}, whose devices are {@code slowdown} times slower than this host (1: this host).
   */
  private void variants(List<WorkerEndpoint> workers, PeerSecurity security, double slowdown) throws IOException {
    Path dir = config.models().resolve("variants");
    Path baseFile = config.models().resolve("base").resolve("base.onnx");
    VariantFamilyManifest family = VariantFamilyManifest.read(dir.resolve(VariantFamilyManifest.FILE_NAME));
    int n = family.variants().size();
    String devices = slowdown > 1 ? String.format(Locale.ROOT, ", devices %.0fx slower", slowdown) : "";
    log.printf("%n== (d) variant parallelism%s: %d-variant ensemble vs base, one request at a time over REST, %d"
        + " interleaved rounds%n", devices, n, config.rounds());
    ModelGraph baseGraph = ModelGraph.load(baseFile);
    TensorData x = SampleInputs.random(baseGraph, 1, 7).values().iterator().next();
    TensorData image = x.withName(family.input().name());
    List<Path> files = new ArrayList<>(List.of(baseFile));
    family.variants().forEach(v -> files.add(dir.resolve(v.file())));
    Map<Path, Double> ort = Latencies.medianMillis(files, image, 20, config.rounds());
    double baseMs = ort.get(baseFile);
    double slowestMs = files.subList(1, files.size()).stream().mapToDouble(ort::get).max().orElseThrow();
    List<WorkerEndpoint> members = workers.subList(0, Math.min(n, workers.size()));
    Cluster cluster = clusterOf(members);
    // The emulated devices take K x each model's in-process time measured here, the ceiling's own figures.
    Map<String, Double> memberSeconds = new LinkedHashMap<>();
    family.variants().forEach(v -> memberSeconds.put(v.name(), ort.get(dir.resolve(v.file())) / 1e3));
    try (PlanBackend base = PlanBackend.start(workers.subList(0, 1), List.of(FixedPlacement.chain("base",
        List.of(Files.readAllBytes(baseFile)), List.of(workers.get(0).name()), "raw", new double[] {baseMs / 1e3})),
        security, PlanBackend.Options.DEFAULT);
        PlanBackend ensemble = PlanBackend.start(members, List.of(new MeasuredCompute(
            EnsembleProducer.variants(dir, cluster, 30_000), memberSeconds)), security, PlanBackend.Options.DEFAULT);
        Gateway baseGateway = Gateway.start(base, 0, 0);
        Gateway ensembleGateway = Gateway.start(ensemble, 0, 0);
        KServeClient baseClient = new KServeClient(baseGateway.httpPort(), "base", KServeClient.Encoding.BINARY);
        KServeClient ensembleClient = new KServeClient(ensembleGateway.httpPort(), family.name(),
            KServeClient.Encoding.BINARY)) {
      int warmup = Math.max(20, config.rounds() / 5);
      double[] b = new double[config.rounds()];
      double[] e = new double[config.rounds()];
      int degraded = 0;
      for (int r = -warmup; r < config.rounds(); r++) {
        long t0 = System.nanoTime();
        baseClient.infer(x).orThrow();
        long t1 = System.nanoTime();
        KServeClient.Answer reply = ensembleClient.infer(image).orThrow();
        long t2 = System.nanoTime();
        if (r >= 0) {
          b[r] = (t1 - t0) / 1e6;
          e[r] = (t2 - t1) / 1e6;
          degraded += Boolean.parseBoolean(reply.parameters().get(PlanBackend.PARAM_DEGRADED)) ? 1 : 0;
        }
      }
      Percentiles pb = Percentiles.of(b);
      Percentiles pe = Percentiles.of(e);
      double ceiling = baseMs / slowestMs;
      String section = slowdown > 1 ? String.format(Locale.ROOT, "d variants %.0fx", slowdown) : "d variants";
      row(section, "served speed-up (base p50 / ensemble p50)", pb.p50() / pe.p50(), ceiling, ">= 0.9", "x",
          String.format(Locale.ROOT, "base p50 %.2f ms, ensemble p50 %.2f ms, %d degraded; ceiling: base %.2f ms /"
              + " slowest variant %.2f ms in process%s", pb.p50(), pe.p50(), degraded, baseMs, slowestMs,
              slowdown > 1 ? String.format(Locale.ROOT, ", both %.0fx on these devices", slowdown) : ""));
      // What serving costs besides compute, measured on the base: every served request pays it.
      // Even a fan-out that cost nothing more, with all members running at once, leaves the
      // ensemble that fixed cost plus its slowest member: the best speed-up these devices allow.
      double fixedMs = pb.p50() - slowdown * baseMs;
      double best = pb.p50() / (fixedMs + slowdown * slowestMs);
      row(section, "floor: best speed-up at the base's fixed serving cost", best, ceiling, "report", "x",
          String.format(Locale.ROOT, "derived: fixed cost %.2f ms (base served p50 - base compute); best ensemble p50 ="
              + " fixed + slowest variant = %.2f ms; ratio = the most of the ceiling any fan-out reaches here", fixedMs,
              fixedMs + slowdown * slowestMs));
    }
  }

  /**
   * {@code producer}'s plans with each stage's compute on the reference host (what an emulated device
   * multiplies) set from {@code seconds} by stage id, instead of the cost model's estimate.
   */
  private record MeasuredCompute(PlanProducer producer, Map<String, Double> seconds) implements PlanProducer {
    @Override
    public String name() {
      return producer.name();
    }

    @Override
    public PlanBundle plan(List<String> liveDevices) {
      PlanBundle bundle = producer.plan(liveDevices);
      List<Stage> stages = bundle.plan().stages().stream()
          .map(st -> st.withReferenceSeconds(seconds.getOrDefault(st.id(), st.referenceSeconds())))
          .toList();
      return new PlanBundle(bundle.plan().withStages(stages), bundle.models());
    }

    @Override
    public Map<String, String> answerParameters(Plan plan, Set<String> answeringStages) {
      return producer.answerParameters(plan, answeringStages);
    }
  }

  /** Equal devices joined by 1 Gbit/s, 0.1 ms links: loopback as the cost model sees it. */
  private static Cluster clusterOf(List<WorkerEndpoint> workers) {
    List<ClusterDevice> devices = new ArrayList<>();
    int n = workers.size();
    double[][] bandwidth = new double[n][n];
    double[][] latency = new double[n][n];
    for (int a = 0; a < n; a++) {
      devices.add(new ClusterDevice(workers.get(a).name(), workers.get(a).address(), 512L << 20,
          new DeviceSpeed.Relative(1.0)));
      for (int b = 0; b < n; b++) {
        bandwidth[a][b] = a == b ? 0 : 125e6;
        latency[a][b] = a == b ? 0 : 1e-4;
      }
    }
    return new Cluster(devices, bandwidth, latency, null, Cluster.DEFAULT_MACS_PER_SECOND);
  }

  /**
   * (f) Two plans of the model (the pipeline and a 2-stage cut) switched {@code switches} times while
   * {@code connections} requests stay in flight: every request must get exactly one right answer.
   */
  private void switching(Pipeline p, ModelProfile profile, List<WorkerEndpoint> workers, PeerSecurity security) {
    double seconds = Math.max(config.seconds(), config.switches() * 0.5);
    log.printf("%n== (f) plan switching: %d switches in %.0f s with %d requests in flight%n", config.switches(),
        seconds, config.connections());
    Split two = ModelSplitter.split(profile, ModelSplitter.balancedCuts(profile, 2));
    List<String> devices = workers.stream().map(WorkerEndpoint::name).toList();
    try (PlanBackend backend = PlanBackend.start(workers, List.of(
        chainPlan(p.name(), "pipeline", p.stageBytes(), devices.subList(0, config.stages()), null),
        chainPlan(p.name(), "two-stage", two.stages().stream().map(s -> s.model().toByteArray()).toList(),
            devices.subList(devices.size() - 2, devices.size()), null)), security, PlanBackend.Options.DEFAULT);
        Gateway gateway = Gateway.start(backend, 0, 0)) {
      AtomicInteger switched = new AtomicInteger();
      long start = System.nanoTime();
      long every = (long) (seconds * 1e9 / (config.switches() + 1));
      Load.Result r = Load.run(gateway.httpPort(), p.name(), p.samples(), config.connections(), () -> {
        long now = System.nanoTime();
        int due = (int) Math.min(config.switches(), (now - start) / every);
        synchronized (switched) {
          while (switched.get() < due) {
            backend.activate(p.name(), switched.incrementAndGet() % 2 == 1 ? "two-stage" : "pipeline");
          }
        }
        return now - start < seconds * 1e9;
      });
      row("f switching", "lost answers", r.failed(), 0, "= 0", "requests",
          String.format(Locale.ROOT, "%d switches, %d answered, %d wrong, by plan %s", switched.get(), r.answered(),
              r.wrong(), r.byPlan()));
      row("f switching", "duplicated answers", backend.duplicateResults(), 0, "= 0", "results",
          "results the coordinator received for already answered requests");
    }
  }

  /**
   * (g) The cluster idle: the pipeline deployed on the workers behind the gateway, and no request
   * for {@code seconds} (at least 10): the CPU every process used meanwhile (the workers, and this
   * one: coordinator and gateway), as a share of one core, with its largest thread kinds. An idle
   * cluster pays for heartbeats and metrics polls, on boards that run on batteries or passive
   * cooling.
   */
  private void idle(Pipeline p, List<WorkerEndpoint> workers, PeerSecurity security, List<Long> pids)
      throws InterruptedException {
    double seconds = Math.max(10, config.seconds());
    log.printf(Locale.ROOT, "%n== (g) the cluster idle: the pipeline deployed, no request for %.0f s%n", seconds);
    List<String> devices = workers.subList(0, config.stages()).stream().map(WorkerEndpoint::name).toList();
    try (PlanBackend backend = PlanBackend.start(workers, List.of(chainPlan(p.name(), "pipeline", p.stageBytes(),
        devices, null)), security, PlanBackend.Options.DEFAULT);
        Gateway gateway = Gateway.start(backend, 0, 0)) {
      Thread.sleep((long) (IDLE_SETTLE_SECONDS * 1e3));
      double cpu0 = ProcessCpu.seconds(pids);
      Map<String, Long> threads0 = ProcessCpu.ticksByThreadKind(pids);
      long start = System.nanoTime();
      Thread.sleep((long) (seconds * 1e3));
      double wall = (System.nanoTime() - start) / 1e9;
      double share = 100 * (ProcessCpu.seconds(pids) - cpu0) / wall;
      List<String> largest = ProcessCpu.millisBetween(threads0, ProcessCpu.ticksByThreadKind(pids)).stream().limit(4)
          .map(e -> String.format(Locale.ROOT, "%s %.1f%%", e.getKey(), 100 * e.getValue() / 1e3 / wall)).toList();
      row("g idle", "CPU of the idle cluster, % of one core", share, Double.NaN, "report", "%",
          String.format(Locale.ROOT, "%d processes (%d workers + coordinator and gateway) over %.0f s, load %s;"
              + " largest: %s", pids.size(), pids.size() - 1, wall, LoadAverage.now().oneMinuteText(),
              String.join(", ", largest)));
    }
  }

  /**
   * (e) A 2-stage cut after 2/3 of the MACs (the first stage the bottleneck), on workers emulating devices
   * {@code slowdown} times slower than this host: the first stage on one worker, then replicated on
   * two; throughput with {@code connections} requests in flight.
   */
  private void replicated(ModelProfile profile, Path certs, List<String> slow, PeerSecurity security)
      throws IOException {
    int twoThirds = 0;
    while (profile.macs(0, twoThirds) < profile.totalMacs() * 2 / 3) {
      twoThirds++;
    }
    Split cut = ModelSplitter.split(profile, twoThirds);
    List<byte[]> stages = cut.stages().stream().map(s -> s.model().toByteArray()).toList();
    double[] reference = new double[stages.size()];
    for (int i = 0; i < stages.size(); i++) {
      reference[i] = medianSeconds(stages.get(i));
    }
    log.printf(Locale.ROOT, "%n== (e) replicated bottleneck: 2 stages of %.2f / %.2f ms here, devices %.0fx slower,"
        + " %d in flight, %.0f s each%n", reference[0] * 1e3, reference[1] * 1e3, config.slowdown(),
        config.connections(), config.seconds());
    List<WorkerProcess> processes = new ArrayList<>();
    try {
      List<WorkerEndpoint> endpoints = startWorkers(slow, config.slowdown(), certs, processes);
      List<Load.Sample> samples;
      try (StageChain chain = StageChain.open(cut, new OnnxSession.Options(1, false))) {
        samples = samples(profile, chain);
      }
      double[] perSecond = new double[2];
      for (int replicas = 1; replicas <= 2; replicas++) {
        List<Chains.Link> links = List.of(
            new Chains.Link(stages.get(0), slow.subList(0, replicas), reference[0], Double.NaN, "first 2/3"),
            new Chains.Link(stages.get(1), List.of(slow.get(2)), reference[1], Double.NaN, "last 1/3"));
        PlanBundle plan = Chains.of("resnet", replicas == 1 ? "pipeline" : "replicated", links, "raw",
            Predicted.UNKNOWN);
        try (PlanBackend backend = PlanBackend.start(endpoints, List.of(new FixedPlacement(plan)), security,
            PlanBackend.Options.DEFAULT);
            Gateway gateway = Gateway.start(backend, 0, 0)) {
          Load.run(gateway.httpPort(), "resnet", samples, config.connections(), 1.0);
          Load.Result r = Load.run(gateway.httpPort(), "resnet", samples, config.connections(), config.seconds());
          perSecond[replicas - 1] = r.perSecond();
          log.printf(Locale.ROOT, "  first stage on %d worker(s): %.1f/s, p50 %.1f ms, %d failed, %d wrong (load %s)%n",
              replicas, r.perSecond(), r.latencyMs().p50(), r.failed(), r.wrong(), LoadAverage.now().oneMinuteText());
        }
      }
      double k = config.slowdown();
      double predictedGain = Math.max(k * reference[0], k * reference[1])
          / Math.max(k * reference[0] / 2, k * reference[1]);
      row("e replicated", "throughput/s, bottleneck on 2 workers", perSecond[1], perSecond[0], "report", "req/s",
          String.format(Locale.ROOT, "gain %.2fx; the stage times predict %.2fx", perSecond[1] / perSecond[0],
              predictedGain));
    } finally {
      processes.forEach(WorkerProcess::close);
    }
  }

  /** Median seconds of one batch-1 run of a stage (zero inputs), in process. */
  private static double medianSeconds(byte[] stage) {
    try (OnnxSession s = OnnxSession.open(stage, new OnnxSession.Options(1, false))) {
      Map<String, TensorData> feed = new LinkedHashMap<>();
      for (var spec : s.inputs()) {
        long[] shape = Arrays.stream(spec.shape()).map(d -> d < 0 ? 1 : d).toArray();
        feed.put(spec.name(), new TensorData(spec.name(), spec.dtype(), shape,
            new byte[Math.toIntExact(TensorData.elementCount(shape) * spec.dtype().byteSize())]));
      }
      double[] t = new double[31];
      for (int r = -10; r < t.length; r++) {
        long t0 = System.nanoTime();
        s.run(feed);
        if (r >= 0) {
          t[r] = (System.nanoTime() - t0) / 1e9;
        }
      }
      Arrays.sort(t);
      return t[t.length / 2];
    }
  }

  /** (c) One more hop against plain gRPC and raw TCP ping-pongs of the same bytes (plaintext). */
  private void transport() throws Exception {
    log.printf("%n== (c) one more hop vs gRPC and TCP ping-pong, %d round trips per size and path, interleaved%n",
        config.transportSamples());
    int[] sizes = {4 * 1024, 100 * 1024, 1024 * 1024};
    List<TransportOverhead.Row> rows = TransportOverhead.run(work, sizes, config.transportSamples(), null, log);
    for (int size : sizes) {
      double tcp = p50(rows, "tcp-echo", size);
      double grpc = p50(rows, "grpc-echo", size);
      double hop = p50(rows, "shoal-2-stage", size) - p50(rows, "shoal-1-stage", size);
      row("c hop", "extra hop p50 ms, " + size / 1024 + " KB", hop, grpc, "<= 1.2", "ms",
          String.format(Locale.ROOT, "vs gRPC ping-pong round trip; one way (half) %.3f ms -> %.2fx; TCP ping-pong %.3f"
              + " ms (gRPC/TCP %.2fx); 1-stage RTT %.3f ms", grpc / 2, hop / (grpc / 2), tcp, grpc / tcp,
              p50(rows, "shoal-1-stage", size)));
    }
    if (latencyFloor != null) {
      // The floor of section (a): the chain's own time plus each transfer of a served request
      // at raw-TCP speed (one way = half the TCP ping-pong's p50, interpolated by size).
      double[] at = new double[sizes.length];
      for (int i = 0; i < sizes.length; i++) {
        at[i] = p50(rows, "tcp-echo", sizes[i]) / 2;
      }
      double wire = latencyFloor.transfers().stream().mapToDouble(b -> oneWayMs(sizes, at, b)).sum();
      double floor = latencyFloor.chainP50Ms() + wire;
      row("a latency", "floor: in-process chain + raw TCP transfers", floor, latencyFloor.chainP50Ms(), "report", "ms",
          String.format(Locale.ROOT, "derived: %d one-way transfers of %s bytes at raw-TCP speed = %.3f ms; ratio = the"
              + " best section (a) can reach on this host without TLS", latencyFloor.transfers().size(),
              latencyFloor.transfers(), wire));
    }
  }

  /** One-way milliseconds for {@code bytes}, linear between the measured sizes and beyond the ends. */
  static double oneWayMs(int[] sizes, double[] ms, long bytes) {
    int hi = 1;
    while (hi < sizes.length - 1 && bytes > sizes[hi]) {
      hi++;
    }
    int lo = hi - 1;
    double perByte = (ms[hi] - ms[lo]) / (sizes[hi] - sizes[lo]);
    return Math.max(0, ms[lo] + perByte * (bytes - sizes[lo]));
  }

  private static double p50(List<TransportOverhead.Row> rows, String path, int size) {
    return rows.stream().filter(r -> r.path().equals(path) && r.bytes() == size).findFirst().orElseThrow()
        .rttMillis().p50();
  }

  private void row(String section, String measure, double served, double baseline, String target, String unit,
      String note) {
    double ratio = baseline == 0 ? Double.NaN : served / baseline;
    table.row(section, measure, served, baseline, ratio, target, unit, note);
    log.printf(Locale.ROOT, "  %-14s %-44s %10.3f vs %10.3f  ratio %6.2f  target %s  %s%n", section, measure, served,
        baseline, ratio, target, note);
  }
}
