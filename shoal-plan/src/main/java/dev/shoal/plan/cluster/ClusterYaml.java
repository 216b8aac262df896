package dev.shoal.plan.cluster;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Reads a cluster spec:
 *
 * <pre>
 * source: pi-a                 # optional: where inputs arrive
 * macsPerSecond: 1.0e9         # optional: speed 1.0 in MACs/s
 * defaults: {bandwidth: 100Mbit, latency: 0.5ms}   # links not listed below
 * devices:
 *   - {name: pi-a, address: 10.0.0.2:7000, memory: 512MiB, speed: 1.0}
 *   - {name: pi-b, memory: 256MiB, times: pi-b-profile.json}  # measured per-layer seconds
 * links:                      # symmetric unless directed: true; bandwidth 0 = no link
 *   - {from: pi-a, to: pi-b, bandwidth: 20Mbit, latency: 2ms}
 * </pre>
 *
 * Every error names the file, the field and the device or link it belongs to.
 */
public final class ClusterYaml {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Set<String> TOP = Set.of("source", "macsPerSecond", "defaults", "devices", "links");
  private static final Set<String> DEVICE = Set.of("name", "address", "memory", "speed", "times");
  private static final Set<String> LINK = Set.of("from", "to", "bandwidth", "latency", "directed");
  private static final Set<String> DEFAULTS = Set.of("bandwidth", "latency");

  private ClusterYaml() {}

  /** @throws IllegalArgumentException with one line saying what is wrong and where */
  public static Cluster read(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read (" + e.getMessage() + ")");
    }
    Path base = file.toAbsolutePath().getParent();
    try {
      return parse(text, base);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage());
    }
  }

  /** Parses spec text; relative {@code times} paths resolve against {@code base}. */
  public static Cluster parse(String text, Path base) {
    JsonNode root;
    try {
      root = YAML.readTree(text);
    } catch (JsonProcessingException e) {
      var at = e.getLocation();
      throw new IllegalArgumentException(
          "not valid YAML (" + e.getOriginalMessage() + (at == null ? "" : " at line " + at.getLineNr()) + ")");
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("expected a mapping with 'devices' (and 'links', 'defaults', 'source')");
    }
    onlyKnown(root, TOP, "top level");
    JsonNode devicesNode = root.get("devices");
    if (devicesNode == null || !devicesNode.isArray() || devicesNode.isEmpty()) {
      throw new IllegalArgumentException("'devices' must be a non-empty list");
    }
    List<ClusterDevice> devices = new ArrayList<>();
    for (int i = 0; i < devicesNode.size(); i++) {
      devices.add(device(devicesNode.get(i), i, devices, base));
    }
    int n = devices.size();
    double[][] bandwidth = new double[n][n];
    double[][] latency = new double[n][n];
    boolean[][] set = new boolean[n][n];
    JsonNode links = root.get("links");
    if (links != null && !links.isNull()) {
      if (!links.isArray()) {
        throw new IllegalArgumentException("'links' must be a list");
      }
      for (int i = 0; i < links.size(); i++) {
        link(links.get(i), i, devices, bandwidth, latency, set);
      }
    }
    JsonNode defaults = root.get("defaults");
    Double defaultBandwidth = null;
    double defaultLatency = 0;
    if (defaults != null && !defaults.isNull()) {
      if (!defaults.isObject()) {
        throw new IllegalArgumentException("'defaults' must be a mapping with bandwidth and latency");
      }
      onlyKnown(defaults, DEFAULTS, "defaults");
      defaultBandwidth = Units.bandwidth(required(defaults, "bandwidth", "defaults"), "defaults.bandwidth");
      defaultLatency = latency(defaults, "defaults.latency");
    }
    for (int a = 0; a < n; a++) {
      for (int b = 0; b < n; b++) {
        if (a == b || set[a][b]) {
          continue;
        }
        if (defaultBandwidth == null) {
          throw new IllegalArgumentException(
              "no link from " + devices.get(a).name() + " to " + devices.get(b).name()
                  + " and no 'defaults' (bandwidth, latency) for unlisted pairs");
        }
        bandwidth[a][b] = defaultBandwidth;
        latency[a][b] = defaultLatency;
      }
    }
    Integer source = null;
    JsonNode sourceNode = root.get("source");
    if (sourceNode != null && !sourceNode.isNull()) {
      source = deviceIndex(sourceNode.asText(), devices, "source");
    }
    double macsPerSecond = Cluster.DEFAULT_MACS_PER_SECOND;
    JsonNode reference = root.get("macsPerSecond");
    if (reference != null) {
      macsPerSecond = positiveNumber(reference, "macsPerSecond");
    }
    return new Cluster(List.copyOf(devices), bandwidth, latency, source, macsPerSecond);
  }

  private static ClusterDevice device(JsonNode node, int index, List<ClusterDevice> earlier, Path base) {
    String where = "devices[" + index + "]";
    if (!node.isObject()) {
      throw new IllegalArgumentException(where + ": expected a mapping with name, memory and speed or times");
    }
    String name = required(node, "name", where);
    where = where + " (" + name + ")";
    for (ClusterDevice other : earlier) {
      if (other.name().equals(name)) {
        throw new IllegalArgumentException(where + ": the name is used by another device");
      }
    }
    onlyKnown(node, DEVICE, where);
    String address = node.hasNonNull("address") ? node.get("address").asText() : null;
    if (address != null && !address.matches("[^:\\s]+:[0-9]{1,5}")) {
      throw new IllegalArgumentException(where + ".address: '" + address + "' is not host:port");
    }
    long memory = Units.bytes(required(node, "memory", where), where + ".memory");
    if (memory <= 0) {
      throw new IllegalArgumentException(where + ".memory: must be > 0");
    }
    boolean hasSpeed = node.hasNonNull("speed");
    boolean hasTimes = node.hasNonNull("times");
    if (hasSpeed == hasTimes) {
      throw new IllegalArgumentException(where + ": give exactly one of 'speed' (a factor) or 'times' (a measured profile)");
    }
    DeviceSpeed speed =
        hasSpeed
            ? new DeviceSpeed.Relative(positiveNumber(node.get("speed"), where + ".speed"))
            : new DeviceSpeed.Measured(base.resolve(node.get("times").asText()));
    return new ClusterDevice(name, address, memory, speed);
  }

  private static void link(
      JsonNode node, int index, List<ClusterDevice> devices, double[][] bandwidth, double[][] latency, boolean[][] set) {
    String where = "links[" + index + "]";
    if (!node.isObject()) {
      throw new IllegalArgumentException(where + ": expected a mapping with from, to, bandwidth, latency");
    }
    onlyKnown(node, LINK, where);
    int from = deviceIndex(required(node, "from", where), devices, where + ".from");
    int to = deviceIndex(required(node, "to", where), devices, where + ".to");
    where = where + " (" + devices.get(from).name() + " -> " + devices.get(to).name() + ")";
    if (from == to) {
      throw new IllegalArgumentException(where + ": a link needs two different devices");
    }
    double bw = Units.bandwidth(required(node, "bandwidth", where), where + ".bandwidth");
    double lat = latency(node, where + ".latency");
    boolean directed = node.hasNonNull("directed") && node.get("directed").asBoolean();
    if (set[from][to] || (!directed && set[to][from])) {
      throw new IllegalArgumentException(where + ": listed twice");
    }
    bandwidth[from][to] = bw;
    latency[from][to] = lat;
    set[from][to] = true;
    if (!directed) {
      bandwidth[to][from] = bw;
      latency[to][from] = lat;
      set[to][from] = true;
    }
  }

  private static double latency(JsonNode node, String where) {
    JsonNode value = node.get("latency");
    if (value == null || value.isNull()) {
      return 0;
    }
    double seconds = Units.seconds(value.asText(), where);
    if (seconds < 0) {
      throw new IllegalArgumentException(where + ": must be >= 0");
    }
    return seconds;
  }

  private static int deviceIndex(String name, List<ClusterDevice> devices, String where) {
    for (int d = 0; d < devices.size(); d++) {
      if (devices.get(d).name().equals(name)) {
        return d;
      }
    }
    throw new IllegalArgumentException(
        where + ": no device named '" + name + "' (devices: "
            + devices.stream().map(ClusterDevice::name).toList() + ")");
  }

  private static String required(JsonNode node, String field, String where) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull() || value.asText().isBlank()) {
      throw new IllegalArgumentException(where + ": missing '" + field + "'");
    }
    return value.asText();
  }

  private static double positiveNumber(JsonNode node, String where) {
    double value;
    try {
      value = Double.parseDouble(node.asText());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(where + ": '" + node.asText() + "' is not a number");
    }
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(where + ": must be a positive number, got " + node.asText());
    }
    return value;
  }

  private static void onlyKnown(JsonNode node, Set<String> known, String where) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!known.contains(field)) {
        throw new IllegalArgumentException(where + ": unknown field '" + field + "' (known: " + known + ")");
      }
    }
  }
}
