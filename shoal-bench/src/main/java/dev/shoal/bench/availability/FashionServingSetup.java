package dev.shoal.bench.availability;

import dev.shoal.bench.KServeClient;
import dev.shoal.model.TensorData;
import dev.shoal.model.family.ClassParallelManifest;
import dev.shoal.model.family.ModelInput;
import dev.shoal.model.family.VariantFamilyManifest;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterDevice;
import dev.shoal.plan.cluster.DeviceSpeed;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.coordinator.PlanBackend;
import dev.shoal.bench.BenchCerts;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.train.data.LabelledImages;
import dev.shoal.train.data.Split;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the serving benches share: the committed model sets under one directory (base/base.onnx,
 * variants/family.json, class-parallel/class-parallel.json), the first test images normalised as
 * the family expects, the runtime options, and the loopback cluster the workers form.
 */
final class FashionServingSetup {

  final VariantFamilyManifest family;
  final Path variantsDir;
  final Path classParallelDir;
  final Path baseFile;
  final float[][] images;
  final int[] labels;
  /** The coordinator's side of the links; set by {@link #writeCertificates}. */
  PeerSecurity security;
  /** The coordinator's limits (links are raw: no lossy codec, accuracy is compared). */
  final PlanBackend.Options options = PlanBackend.Options.DEFAULT;

  /**
   * @param models directory with base/, variants/ and class-parallel/
   * @param images how many test images, from the first
   * @throws IllegalArgumentException when a model set is missing or the ensembles differ in size
   */
  FashionServingSetup(Path models, Path data, int images) throws IOException {
    variantsDir = models.resolve("variants");
    classParallelDir = models.resolve("class-parallel");
    baseFile = models.resolve("base").resolve("base.onnx");
    family = VariantFamilyManifest.read(variantsDir.resolve(VariantFamilyManifest.FILE_NAME));
    ClassParallelManifest cp = ClassParallelManifest.read(classParallelDir.resolve(ClassParallelManifest.FILE_NAME));
    if (cp.members().size() != family.variants().size()) {
      throw new IllegalArgumentException("the family has " + family.variants().size() + " variants but class "
          + "parallelism " + cp.members().size() + " sub-models: the comparison needs as many of each");
    }
    if (!Files.isRegularFile(baseFile)) {
      throw new IllegalArgumentException("no base model at " + baseFile + " (shoal train base --out "
          + baseFile.getParent() + ")");
    }
    LabelledImages test = LabelledImages.load(data, Split.TEST).head(images);
    ModelInput input = family.input();
    int pixels = test.rows() * test.cols();
    this.images = new float[test.count()][pixels];
    this.labels = new int[test.count()];
    for (int i = 0; i < test.count(); i++) {
      for (int p = 0; p < pixels; p++) {
        this.images[i][p] = input.normalise(test.pixels()[i * pixels + p] & 0xff);
      }
      this.labels[i] = test.label(i);
    }
  }

  /**
   * Writes a throw-away cluster CA and certificates for the coordinator and workers w1..wN into
   * {@code dir/certs} (one directory per node); delete them with {@link #deleteCertificates}.
   */
  Path writeCertificates(Path dir, int workers) throws IOException {
    Path certs = dir.resolve("certs");
    BenchCerts.provision(certs, java.util.stream.IntStream.rangeClosed(1, workers).mapToObj(i -> "w" + i).toList());
    security = BenchCerts.coordinator(certs);
    return certs;
  }

  static void deleteCertificates(Path certs) throws IOException {
    try (var files = Files.walk(certs)) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  /** Image {@code i} as the one input tensor of a batch-1 request. */
  TensorData imageTensor(int i) {
    return TensorData.ofFloats(family.input().name(), batchOfOne(), images[i]);
  }

  /** A JSON client of {@code model} on the gateway, as a user would call it; the caller closes it. */
  KServeClient client(Gateway gateway, String model) {
    return new KServeClient(gateway.httpPort(), model, KServeClient.Encoding.JSON);
  }

  private long[] batchOfOne() {
    long[] shape = new long[family.input().shape().size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = Math.max(1, family.input().shape().get(i));
    }
    return shape;
  }

  /** The workers as a cluster of equal devices joined by 1 Gbit/s, 0.1 ms links (loopback). */
  static Cluster clusterOf(List<WorkerEndpoint> workers) {
    List<ClusterDevice> devices = new ArrayList<>();
    int n = workers.size();
    double[][] bandwidth = new double[n][n];
    double[][] latency = new double[n][n];
    for (int a = 0; a < n; a++) {
      WorkerEndpoint w = workers.get(a);
      devices.add(new ClusterDevice(w.name(), w.address(), 512L << 20, new DeviceSpeed.Relative(1.0)));
      for (int b = 0; b < n; b++) {
        bandwidth[a][b] = a == b ? 0 : 125e6;
        latency[a][b] = a == b ? 0 : 1e-4;
      }
    }
    return new Cluster(devices, bandwidth, latency, null, Cluster.DEFAULT_MACS_PER_SECOND);
  }

  static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  static String names(List<WorkerEndpoint> workers) {
    return workers.stream().map(WorkerEndpoint::name).toList().toString();
  }
}
