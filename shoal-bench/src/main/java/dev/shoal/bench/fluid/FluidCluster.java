package dev.shoal.bench.fluid;

import dev.shoal.bench.BenchCerts;
import dev.shoal.bench.availability.WorkerPool;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.family.FluidManifest;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.plan.graph.PlanProducer;
import dev.shoal.plan.solve.Solvers;
import dev.shoal.plan.strategy.PinnedWidths;
import dev.shoal.plan.strategy.PipelineProducer;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.fluid.AutoMode;
import dev.shoal.runtime.fluid.FluidBackend;
import dev.shoal.runtime.security.PeerSecurity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * G worker processes emulating edge devices for one Fluid network, and the backends the bench
 * compares on them: the Fluid network in its modes, Static (static.onnx split by the pipeline
 * planner over all G devices) and Dynamic (width k/G split by the pipeline planner over devices
 * 1..k, the widest whose devices are all up), both pinned to their devices ({@link PinnedWidths}).
 *
 * <p>Emulation: every model's compute is its MACs at {@code deviceMacsPerSecond} — stage reference
 * times are MACs / 10^9 (a reference host at 1 GMAC/s) and each worker runs {@code 10^9 /
 * deviceMacsPerSecond} times slower (its {@code --slowdown}); the pipeline planner sees the same
 * times. So every model is timed the same way, by its MACs, as on a small CPU where compute
 * dominates; what the runtime adds on this host (gRPC, TLS, copies, ONNX Runtime calls) is measured.
 */
final class FluidCluster implements AutoCloseable {

  static final double REFERENCE_MACS_PER_SECOND = 1e9;
  /** The link speed the pipeline planner assumes (loopback carries more): 1 Gbit/s Ethernet. */
  private static final double LINK_BYTES_PER_SECOND = 125e6;

  private final Path dir;
  private final FluidManifest manifest;
  private final WorkerPool pool;
  private final PeerSecurity security;
  private final double slowdown;
  private final AutoMode.Options autoOptions;

  private FluidCluster(Path dir, FluidManifest manifest, WorkerPool pool, PeerSecurity security, double slowdown,
      AutoMode.Options autoOptions) {
    this.dir = dir;
    this.manifest = manifest;
    this.pool = pool;
    this.security = security;
    this.slowdown = slowdown;
    this.autoOptions = autoOptions;
  }

  /** Starts G workers (w1..wG) for the network in {@code dir}; certificates and logs go under {@code work}. */
  static FluidCluster start(Path dir, double deviceMacsPerSecond, AutoMode.Options autoOptions, Path work)
      throws IOException {
    FluidManifest m = FluidManifest.read(dir.resolve(FluidManifest.FILE_NAME));
    List<String> names = new ArrayList<>();
    for (int i = 1; i <= m.groups(); i++) {
      names.add("w" + i);
    }
    Path certs = BenchCerts.provision(Files.createDirectories(work.resolve("certs")), names);
    double slowdown = REFERENCE_MACS_PER_SECOND / deviceMacsPerSecond;
    WorkerPool pool = WorkerPool.start(m.groups(), certs, Files.createDirectories(work.resolve("logs")), slowdown);
    return new FluidCluster(dir, m, pool, BenchCerts.coordinator(certs), slowdown, autoOptions);
  }

  FluidManifest manifest() {
    return manifest;
  }

  double slowdown() {
    return slowdown;
  }

  List<WorkerEndpoint> endpoints() {
    return pool.endpoints();
  }

  private List<String> names(int first) {
    return pool.endpoints().subList(0, first).stream().map(WorkerEndpoint::name).toList();
  }

  /** Seconds per image of a file on the emulated device. */
  double deviceSeconds(String file) {
    return macs(file) / REFERENCE_MACS_PER_SECOND * slowdown;
  }

  private long macs(String file) {
    return ModelProfile.of(ModelGraph.load(dir.resolve(file))).totalMacs();
  }

  /** Reference seconds of every ONNX file of the network: its MACs at 1 GMAC/s. */
  private Map<String, Double> referenceSeconds() throws IOException {
    Map<String, Double> out = new LinkedHashMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".onnx")).sorted().toList()) {
        String name = f.getFileName().toString();
        out.put(name, macs(name) / REFERENCE_MACS_PER_SECOND);
      }
    }
    return out;
  }

  FluidBackend fluid(String mode) throws IOException {
    return FluidBackend.start(dir, pool.endpoints(), security, mode, referenceSeconds(), autoOptions);
  }

  /** Static on all G devices; any of them lost stops it. */
  PlanBackend staticModel() {
    return start(new PinnedWidths("static", List.of(new PinnedWidths.Width(names(manifest.groups()),
        pipeline("static", manifest.staticModel().file(), manifest.groups())))));
  }

  /** Dynamic: width k/G on devices 1..k, the widest whose devices are all up. */
  PlanBackend dynamic() {
    List<PinnedWidths.Width> widths = new ArrayList<>();
    for (int i = manifest.dynamic().size() - 1; i >= 0; i--) {
      FluidManifest.WidthSplitModel d = manifest.dynamic().get(i);
      widths.add(new PinnedWidths.Width(names(d.devices()), pipeline("dynamic", d.file(), d.devices())));
    }
    return start(new PinnedWidths("dynamic", widths));
  }

  /** Dynamic at its narrowest width 1/G alone on device 1: its fastest configuration. */
  PlanBackend dynamicNarrowest() {
    FluidManifest.WidthSplitModel d = manifest.dynamic().get(0);
    return start(new PinnedWidths("dynamic-narrowest", List.of(new PinnedWidths.Width(names(1),
        pipeline("dynamic", d.file(), 1)))));
  }

  private PlanBackend start(PlanProducer producer) {
    return PlanBackend.start(pool.endpoints(), List.of(producer), security, PlanBackend.Options.DEFAULT);
  }

  /** A model file planned by the exact pipeline solver over devices 1..{@code devices}, timed by its MACs. */
  private PipelineProducer pipeline(String model, String file, int devices) {
    ModelGraph graph = ModelGraph.load(dir.resolve(file));
    ModelProfile profile = ModelProfile.of(graph);
    double[] nodeSeconds = profile.nodes().stream().mapToDouble(n -> n.macs() / REFERENCE_MACS_PER_SECOND).toArray();
    List<PipelineProducer.EmulatedDevice> emulated = names(devices).stream()
        .map(n -> new PipelineProducer.EmulatedDevice(n, 1L << 30, slowdown)).toList();
    double[][] bandwidth = new double[devices][devices];
    for (int a = 0; a < devices; a++) {
      for (int b = 0; b < devices; b++) {
        bandwidth[a][b] = a == b ? 0 : LINK_BYTES_PER_SECOND;
      }
    }
    return PipelineProducer.forEmulated(model, profile, nodeSeconds, emulated, bandwidth, new double[devices][devices],
        Solvers.byName("exact", 1), "raw", false);
  }

  /** SIGKILL of worker w{@code device} (1-based). */
  void kill(int device) {
    pool.kill(device - 1);
  }

  void restartDead() throws IOException {
    pool.restartDead();
  }

  @Override
  public void close() {
    pool.close();
  }
}
