package dev.shoal.plan.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.cost.NodeCost;
import dev.shoal.plan.DeviceSpec;
import dev.shoal.plan.Instance;
import dev.shoal.plan.Layer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Model profile + cluster -> planner instance (DESIGN.md). Layers are the profile's nodes in its
 * topological order. A layer's time on a device of relative speed s is {@code macs / (s *
 * macsPerSecond)}; on a device with measured times it is that device's measured seconds for the
 * node. Memory, working set and cut bytes come from the profile; {@code compression} divides the
 * bytes that travel (cuts and the input), e.g. 1.44 for the paper's compressed activations.
 */
public final class InstanceBuilder {

  private InstanceBuilder() {}

  public static Instance build(ModelProfile profile, Cluster cluster) {
    return build(profile, cluster, 1.0);
  }

  public static Instance build(ModelProfile profile, Cluster cluster, double compression) {
    int devices = cluster.devices().size();
    List<NodeCost> nodes = profile.nodes();
    double[][] time = new double[nodes.size()][devices];
    for (int d = 0; d < devices; d++) {
      ClusterDevice device = cluster.devices().get(d);
      double[] seconds =
          device.speed() instanceof DeviceSpeed.Relative relative
              ? scaled(nodes, relative.factor() * cluster.macsPerSecond())
              : measured(profile, (DeviceSpeed.Measured) device.speed(), device.name());
      for (int l = 0; l < nodes.size(); l++) {
        time[l][d] = seconds[l];
      }
    }
    List<DeviceSpec> specs =
        cluster.devices().stream().map(d -> new DeviceSpec(d.name(), d.memoryBytes())).toList();
    return of(profile, specs, time, cluster.bandwidth(), cluster.latency(), cluster.source(), compression);
  }

  /** An instance from a profile and explicit per-node, per-device times ({@code time[node][device]}). */
  public static Instance of(
      ModelProfile profile,
      List<DeviceSpec> devices,
      double[][] time,
      double[][] bandwidth,
      double[][] latency,
      Integer source,
      double compression) {
    if (!(compression >= 1.0)) {
      throw new IllegalArgumentException("compression must be >= 1, got " + compression);
    }
    List<Layer> layers = new ArrayList<>();
    for (NodeCost node : profile.nodes()) {
      layers.add(
          new Layer(
              node.name(),
              time[node.position()].clone(),
              node.paramBytes(),
              node.workBytes(),
              Math.round(node.cutBytes() / compression)));
    }
    return new Instance(
        List.copyOf(layers), Math.round(profile.inputBytes() / compression), List.copyOf(devices),
        bandwidth, latency, source);
  }

  private static double[] scaled(List<NodeCost> nodes, double macsPerSecond) {
    double[] seconds = new double[nodes.size()];
    for (int l = 0; l < nodes.size(); l++) {
      seconds[l] = nodes.get(l).macs() / macsPerSecond;
    }
    return seconds;
  }

  /** Seconds per node from a {@code shoal profile --measure --format json} file of the same model. */
  private static double[] measured(ModelProfile profile, DeviceSpeed.Measured measured, String device) {
    String where = "device " + device + ": times file " + measured.file();
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(measured.file().toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException(where + ": cannot read (" + e.getMessage() + ")");
    }
    JsonNode nodes = root == null ? null : root.get("nodes");
    if (nodes == null || !nodes.isArray()) {
      throw new IllegalArgumentException(where + ": no 'nodes' list (write it with shoal profile --measure --format json)");
    }
    List<NodeCost> expected = profile.nodes();
    if (nodes.size() != expected.size()) {
      throw new IllegalArgumentException(
          where + ": has " + nodes.size() + " nodes but the model has " + expected.size() + " (another model?)");
    }
    double[] seconds = new double[expected.size()];
    for (int l = 0; l < expected.size(); l++) {
      JsonNode node = nodes.get(l);
      String name = node.path("name").asText();
      if (!name.equals(expected.get(l).name())) {
        throw new IllegalArgumentException(
            where + ": node " + l + " is '" + name + "' but the model's is '" + expected.get(l).name() + "'");
      }
      JsonNode value = node.get("seconds");
      if (value == null || !value.isNumber() || value.asDouble() < 0) {
        throw new IllegalArgumentException(where + ": node " + l + " (" + name + ") has no measured 'seconds'");
      }
      seconds[l] = value.asDouble();
    }
    return seconds;
  }
}
