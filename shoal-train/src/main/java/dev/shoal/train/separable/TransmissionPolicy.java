package dev.shoal.train.separable;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Which exchange points of a separable network exchange, with which routing, fraction and codec.
 * Its file form, {@code policy.json}:
 *
 * <pre>{@code
 * {"groups": 4, "points": [
 *   {"after": 1, "exchange": false},
 *   {"after": 2, "exchange": true, "sendTo": [1, 2, 3, 0], "fraction": 0.25, "codec": "int8"}, ...]}
 * }</pre>
 *
 * {@code after} counts blocks from 1; there is one point after every block but the last.
 */
public record TransmissionPolicy(int groups, List<ExchangePoint> points) {

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public TransmissionPolicy {
    points = List.copyOf(points);
    for (int i = 0; i < points.size(); i++) {
      ExchangePoint p = points.get(i);
      if (p.exchange() && p.sendTo().length != groups) {
        throw new IllegalArgumentException(
            "exchange point after block " + (i + 1) + ": sendTo has " + p.sendTo().length + " entries for " + groups
                + " groups");
      }
    }
  }

  /** The baseline: exchange after every block, all channels, fp32, each device to the next. */
  public static TransmissionPolicy baseline(SeparableArchitecture arch) {
    int[] next = new int[arch.groups()];
    for (int g = 0; g < next.length; g++) {
      next[g] = (g + 1) % next.length;
    }
    return new TransmissionPolicy(
        arch.groups(),
        Collections.nCopies(arch.exchangePoints(), ExchangePoint.of(next, ExchangePoint.FRACTION_STEPS, LinkCodec.FP32)));
  }

  /** No exchange anywhere: the groups are independent networks until the summed logits. */
  public static TransmissionPolicy none(SeparableArchitecture arch) {
    return new TransmissionPolicy(arch.groups(), Collections.nCopies(arch.exchangePoints(), ExchangePoint.NONE));
  }

  /** This policy with every exchange sent as {@code codec}. */
  public TransmissionPolicy withCodec(LinkCodec codec) {
    return new TransmissionPolicy(groups, points.stream().map(p -> p.withCodec(codec)).toList());
  }

  /** Throws a clear error unless this policy fits {@code arch}. */
  public TransmissionPolicy checkFits(SeparableArchitecture arch) {
    if (groups != arch.groups()) {
      throw new IllegalArgumentException("the policy is for " + groups + " groups, the network has " + arch.groups());
    }
    if (points.size() != arch.exchangePoints()) {
      throw new IllegalArgumentException(
          "the policy has " + points.size() + " exchange points, the network has " + arch.exchangePoints()
              + " (one after each of blocks 1.." + arch.exchangePoints() + ")");
    }
    return this;
  }

  /**
   * Bytes one inference moves between devices: per exchange point, each device's chunk (channels x
   * pixels x codec bits, plus the integer codecs' scales), and at the end each device's partial
   * logits (fp32) to the device that sums them.
   */
  public record Traffic(long[] perPoint, long logits, long total) {}

  public Traffic traffic(SeparableArchitecture arch) {
    checkFits(arch);
    List<SeparableArchitecture.GroupShape> shapes = arch.exchangeShapes();
    long[] perPoint = new long[points.size()];
    long total = 0;
    for (int i = 0; i < perPoint.length; i++) {
      ExchangePoint p = points.get(i);
      if (p.exchange()) {
        var s = shapes.get(i);
        perPoint[i] = (long) groups * p.codec().bytes(p.channels(s.channels()), s.pixels());
      }
      total += perPoint[i];
    }
    long logits = (long) groups * arch.classes() * Float.BYTES;
    return new Traffic(perPoint, logits, total + logits);
  }

  /** Bytes per inference (see {@link Traffic}). */
  public long bytes(SeparableArchitecture arch) {
    return traffic(arch).total();
  }

  /** A short form for logs: one entry per point, "-" where nothing is exchanged. */
  public String summary() {
    return points.stream().map(ExchangePoint::toString).collect(Collectors.joining(" "));
  }

  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("groups", groups);
    ArrayNode array = root.putArray("points");
    for (int i = 0; i < points.size(); i++) {
      ExchangePoint p = points.get(i);
      ObjectNode n = array.addObject();
      n.put("after", i + 1);
      n.put("exchange", p.exchange());
      if (p.exchange()) {
        ArrayNode to = n.putArray("sendTo");
        for (int t : p.sendTo()) {
          to.add(t);
        }
        n.put("fraction", p.fraction());
        n.put("codec", p.codec().id());
      }
    }
    try {
      return JSON.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public void write(Path file) throws IOException {
    Files.writeString(file, toJson() + "\n");
  }

  /** Reads and validates a policy file; errors name the file and the point at fault. */
  public static TransmissionPolicy read(Path file) throws IOException {
    try {
      return parse(Files.readString(file));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  public static TransmissionPolicy parse(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("a policy is a JSON object with \"groups\" and \"points\"");
    }
    int groups = requiredInt(root, "groups", "the policy");
    JsonNode array = root.get("points");
    if (array == null || !array.isArray()) {
      throw new IllegalArgumentException("the policy needs a \"points\" array");
    }
    List<ExchangePoint> points = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      String where = "point " + (i + 1);
      JsonNode n = array.get(i);
      if (!n.isObject()) {
        throw new IllegalArgumentException(where + " is not an object");
      }
      if (n.has("after") && requiredInt(n, "after", where) != i + 1) {
        throw new IllegalArgumentException(
            where + " says \"after\": " + n.get("after") + "; points must be listed after blocks 1, 2, ... in order");
      }
      JsonNode exchange = n.get("exchange");
      if (exchange == null || !exchange.isBoolean()) {
        throw new IllegalArgumentException(where + " needs \"exchange\": true or false");
      }
      if (!exchange.booleanValue()) {
        points.add(ExchangePoint.NONE);
        continue;
      }
      JsonNode to = n.get("sendTo");
      if (to == null || !to.isArray()) {
        throw new IllegalArgumentException(where + " exchanges and needs \"sendTo\": one target device per device");
      }
      int[] sendTo = new int[to.size()];
      for (int g = 0; g < sendTo.length; g++) {
        if (!to.get(g).canConvertToInt() || !to.get(g).isIntegralNumber()) {
          throw new IllegalArgumentException(where + ": sendTo[" + g + "] is not a device number");
        }
        sendTo[g] = to.get(g).intValue();
      }
      JsonNode fraction = n.get("fraction");
      if (fraction == null || !fraction.isNumber()) {
        throw new IllegalArgumentException(where + " needs \"fraction\": 0.125 .. 1 in steps of 1/8");
      }
      JsonNode codec = n.get("codec");
      LinkCodec c = LinkCodec.FP32;
      if (codec != null) {
        if (!codec.isTextual()) {
          throw new IllegalArgumentException(where + ": \"codec\" must be a string");
        }
        try {
          c = LinkCodec.parse(codec.textValue());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(where + ": " + e.getMessage());
        }
      }
      try {
        points.add(new ExchangePoint(true, sendTo, fraction.doubleValue(), c));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage());
      }
    }
    return new TransmissionPolicy(groups, points);
  }

  private static int requiredInt(JsonNode node, String field, String where) {
    JsonNode v = node.get(field);
    if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
      throw new IllegalArgumentException(where + " needs an integer \"" + field + "\"");
    }
    return v.intValue();
  }
}
