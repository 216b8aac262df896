package dev.shoal.runtime.gateway.serve;

import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.family.ClassParallelManifest;
import dev.shoal.model.family.VariantFamilyManifest;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.plan.PipelineSolver;
import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterDevice;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.coordinator.WorkerEndpoint;
import dev.shoal.runtime.ensemble.ClassParallelBackend;
import dev.shoal.runtime.ensemble.EnsembleMember;
import dev.shoal.runtime.ensemble.VariantEnsembleBackend;
import dev.shoal.runtime.ensemble.WorkerMembers;
import dev.shoal.runtime.pipeline.PipelineBackend;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code shoal serve} runs on a cluster whose devices name their workers' addresses: a model
 * planned into a pipeline over the workers, a variant family (one variant per worker, fused top-k),
 * or class-parallel sub-models (one per worker, concatenated). Each returns the backend the gateway
 * serves and a few lines describing the plan.
 */
public final class ClusterServing {

  /** A started backend and its plan, as lines to print. */
  public record Served(ServingBackend backend, String plan) {}

  private ClusterServing() {}

  /** The worker of each device, in cluster order; every device must give its worker's address. */
  public static List<WorkerEndpoint> workers(Cluster cluster) {
    List<WorkerEndpoint> out = new ArrayList<>();
    for (ClusterDevice d : cluster.devices()) {
      if (d.address() == null) {
        throw new IllegalArgumentException("device '" + d.name() + "' has no 'address' (host:port of its "
            + "`shoal worker`): serving needs one for every device");
      }
      out.add(new WorkerEndpoint(d.name(), d.address()));
    }
    return out;
  }

  /**
   * Profiles the model, plans it over the cluster with the solver, deploys the stages and starts
   * serving it under its file name (without {@code .onnx}); re-plans on the survivors when a worker
   * fails.
   */
  public static Served pipeline(Path modelFile, Cluster cluster, PipelineSolver solver, TensorCodec codec,
      PeerSecurity security, PipelineBackend.Options options) {
    ModelGraph graph = ModelGraph.load(modelFile);
    ModelProfile profile = ModelProfile.of(graph);
    String name = modelName(modelFile);
    ServedModel served = signature(name, graph.model().toByteArray());
    List<WorkerEndpoint> workers = workers(cluster);
    PipelineBackend backend = PipelineBackend.start(served, workers,
        new ClusterStagePlanner(profile, cluster, workers, solver, codec), security, options);
    String plan = String.format(Locale.ROOT, "pipeline '%s' (%d nodes, %.1f M MACs) planned by %s on %d workers:%n%s",
        name, profile.nodes().size(), profile.totalMacs() / 1e6, solver.name(), workers.size(),
        backend.plan().describe());
    return new Served(backend, plan);
  }

  /**
   * Variant parallelism from {@code dir/family.json}: variant i on the cluster's i-th worker,
   * fanned out per request and fused by the family's weighted top-k sum; after {@code deadline} the
   * answer is fused from the variants that arrived and marked degraded.
   */
  public static Served variants(Path dir, Cluster cluster, Duration deadline, PeerSecurity security,
      PipelineBackend.Options options) {
    Path file = dir.resolve(VariantFamilyManifest.FILE_NAME);
    VariantFamilyManifest family = readManifest(() -> VariantFamilyManifest.read(file));
    if (!VariantFamilyManifest.FUSION_WEIGHTED_TOPK_SUM.equals(family.fusion())) {
      throw new IllegalArgumentException(file + ": fusion '" + family.fusion() + "' is not supported (only '"
          + VariantFamilyManifest.FUSION_WEIGHTED_TOPK_SUM + "')");
    }
    List<WorkerEndpoint> workers = enoughWorkers(cluster, family.variants().size(), "variants", file);
    List<WorkerMembers.MemberModel> models = new ArrayList<>();
    for (VariantFamilyManifest.Variant v : family.variants()) {
      models.add(new WorkerMembers.MemberModel(v.name(), readModel(dir, v.file(), file)));
    }
    List<EnsembleMember> members = WorkerMembers.deploy(models, workers, security, options);
    List<VariantEnsembleBackend.Variant> variants = new ArrayList<>();
    StringBuilder plan = new StringBuilder(String.format(Locale.ROOT,
        "variant ensemble '%s': %d variants, %d classes, fused by %s, deadline %d ms%n", family.name(),
        family.variants().size(), family.numClasses(), family.fusion(), deadline.toMillis()));
    for (int i = 0; i < members.size(); i++) {
      VariantFamilyManifest.Variant v = family.variants().get(i);
      variants.add(new VariantEnsembleBackend.Variant(members.get(i), v.fusionWeight()));
      plan.append(String.format(Locale.ROOT,
          "  %-6s on %-10s %-21s res %d, width %.2f, %.2f M MACs, top-%d, fusion weight %.3f%n", v.name(),
          workers.get(i).name(), workers.get(i).address(), v.resolution(), v.widthMultiplier(), v.macs() / 1e6,
          v.k(), v.fusionWeight()));
    }
    try {
      return new Served(new VariantEnsembleBackend(family.name(), variants, family.numClasses(), deadline),
          plan.toString());
    } catch (IllegalArgumentException e) {
      members.forEach(m -> m.backend().close());
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Class parallelism from {@code dir/class-parallel.json}: sub-model i on the cluster's i-th
   * worker, its class scores placed at its classes; a missing sub-model's classes get probability 0.
   */
  public static Served classParallel(Path dir, Cluster cluster, Duration deadline, PeerSecurity security,
      PipelineBackend.Options options) {
    Path file = dir.resolve(ClassParallelManifest.FILE_NAME);
    ClassParallelManifest manifest = readManifest(() -> ClassParallelManifest.read(file));
    List<WorkerEndpoint> workers = enoughWorkers(cluster, manifest.members().size(), "sub-models", file);
    List<WorkerMembers.MemberModel> models = new ArrayList<>();
    for (ClassParallelManifest.Member m : manifest.members()) {
      models.add(new WorkerMembers.MemberModel(m.name(), readModel(dir, m.file(), file)));
    }
    List<EnsembleMember> members = WorkerMembers.deploy(models, workers, security, options);
    List<ClassParallelBackend.Shard> shards = new ArrayList<>();
    StringBuilder plan = new StringBuilder(String.format(Locale.ROOT,
        "class-parallel '%s': %d sub-models, %d classes, deadline %d ms%n", manifest.name(),
        manifest.members().size(), manifest.numClasses(), deadline.toMillis()));
    for (int i = 0; i < members.size(); i++) {
      ClassParallelManifest.Member m = manifest.members().get(i);
      shards.add(new ClassParallelBackend.Shard(members.get(i),
          m.classes().stream().mapToInt(Integer::intValue).toArray()));
      plan.append(String.format(Locale.ROOT, "  %-6s on %-10s %-21s classes %s, %.2f M MACs%n", m.name(),
          workers.get(i).name(), workers.get(i).address(), m.classes(), m.macs() / 1e6));
    }
    try {
      return new Served(new ClassParallelBackend(manifest.name(), shards, manifest.numClasses(), deadline),
          plan.toString());
    } catch (IllegalArgumentException e) {
      members.forEach(m -> m.backend().close());
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  /** A model's served name: its file name without {@code .onnx}. */
  public static String modelName(Path modelFile) {
    String n = modelFile.getFileName().toString();
    return n.endsWith(".onnx") ? n.substring(0, n.length() - 5) : n;
  }

  private static ServedModel signature(String name, byte[] onnx) {
    try (OnnxSession s = OnnxSession.open(onnx, OnnxSession.Options.DEFAULT)) {
      return new ServedModel(name, "1", "onnxruntime_onnx", s.inputs(), s.outputs());
    }
  }

  private static List<WorkerEndpoint> enoughWorkers(Cluster cluster, int members, String what, Path manifest) {
    List<WorkerEndpoint> workers = workers(cluster);
    if (workers.size() < members) {
      throw new IllegalArgumentException(manifest + " has " + members + " " + what + " but the cluster has only "
          + workers.size() + " devices (one " + what.substring(0, what.length() - 1) + " per worker)");
    }
    return workers.subList(0, members);
  }

  private static byte[] readModel(Path dir, String file, Path manifest) {
    Path p = dir.resolve(file);
    try {
      return Files.readAllBytes(p);
    } catch (IOException e) {
      throw new IllegalArgumentException(manifest + " names " + file + ", which cannot be read: " + e.getMessage());
    }
  }

  private interface ManifestReader<T> {
    T read() throws IOException;
  }

  private static <T> T readManifest(ManifestReader<T> reader) {
    try {
      return reader.read();
    } catch (IOException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }
}
