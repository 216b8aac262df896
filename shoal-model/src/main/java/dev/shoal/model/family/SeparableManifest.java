package dev.shoal.model.family;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@value #FILE_NAME}: a separable network exported for one transmission policy (written by
 * shoal-train's {@code SeparableExport}), what width-parallel serving deploys. Device {@code g} runs its segments in order; segment 0 reads the image, every later
 * one reads its own device's previous {@code state} and the chunk {@code received} from a peer (the
 * exchange edge that ends there); every segment but the last writes {@code state} (kept on the
 * device) and {@code send} (the chunk, encoded with the edge's codec). The last segments write
 * partial logits; the answer is their sum ({@code output.combine = "sum"}). {@code wholeModel}
 * computes the same in one graph with exact (fp32) exchanges.
 *
 * @param format {@value #FORMAT}
 * @param policy the policy as in {@code policy.json}
 */
public record SeparableManifest(
    String format,
    int groups,
    int classes,
    ModelInput input,
    JsonNode policy,
    String wholeModel,
    Output output,
    List<Segment> segments,
    List<Exchange> exchanges,
    long bytesPerInference,
    long baselineBytesPerInference,
    long macsPerDevice) {

  public static final String FILE_NAME = "separable.json";
  public static final String FORMAT = "shoal-separable/1";
  public static final String STATE_IN = "state_in";
  public static final String RECEIVED = "received";
  public static final String STATE_OUT = "state_out";
  public static final String SEND = "send";
  public static final String PARTIAL_LOGITS = "partial_logits";

  /** The network's answer: {@code combine} of the named outputs of the last segments. */
  public record Output(String name, String combine, List<String> from) {}

  /** A tensor a segment reads or writes; {@code shape} with -1 for the batch. */
  public record Port(String name, List<Long> shape) {}

  /**
   * One ONNX file on one device: blocks {@code firstBlock..lastBlock} (1-based), its inputs and
   * outputs, and its multiply-accumulates per image.
   */
  public record Segment(
      int device, int index, String file, String sha256, int firstBlock, int lastBlock, List<Port> inputs,
      List<Port> outputs, long macs) {
    /** A key naming this segment in exchanges: {@code d<device>s<index>}. */
    public String id() {
      return "d" + device + "s" + index;
    }
  }

  /**
   * A chunk sent between peers after block {@code afterBlock}: output {@code tensor} of segment
   * {@code from} to input {@code input} of segment {@code to}, {@code bytesPerSample} on the wire
   * with {@code codec}.
   */
  public record Exchange(
      int afterBlock, String from, String tensor, String to, String input, List<Long> shape, String codec,
      long bytesPerSample) {}

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public void write(Path dir) throws IOException {
    JSON.writeValue(dir.resolve(FILE_NAME).toFile(), this);
  }

  public static SeparableManifest read(Path dir) throws IOException {
    Path file = dir.resolve(FILE_NAME);
    if (!Files.isRegularFile(file)) {
      throw new IOException(dir + ": no " + FILE_NAME);
    }
    SeparableManifest m = JSON.readValue(file.toFile(), SeparableManifest.class);
    if (!FORMAT.equals(m.format())) {
      throw new IOException(file + ": format " + m.format() + ", expected " + FORMAT);
    }
    return m;
  }
}
