package dev.shoal.model.family;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code fluid.json}: a Fluid network of {@link #groups} sub-networks, one per device, with its
 * baselines at the same widths; every file named here lies in the manifest's directory. Every model
 * and stage reads {@link #input} (each device gets the whole image) and returns logits
 * ({@code [N, numClasses]}, float32) from the output named in its entry.
 *
 * <ul>
 *   <li>{@link #subNetworks}: sub-network k alone on device k (high-throughput mode, or what
 *       survives a failure): no traffic between devices at all.
 *   <li>{@link #combined}: high-accuracy mode on the first {@code devices} devices (all G, and each
 *       smaller prefix the nested training also produced): one stage per device; the
 *       {@link Transfer}s say which tensor goes from which device to which, and its size. Device
 *       {@code devices} runs the combined head and answers.
 *   <li>{@link #staticModel}: the dense network at the same widths, served split by width across all
 *       G devices (losing any device stops it); {@link #dynamic}: the slimmable network's widths k/G,
 *       width k/G split by width across devices 1..k.
 * </ul>
 *
 * <p>{@code params}: float32 weights in the ONNX file(s), batch norm folded; {@code macs}: per image;
 * {@code bytesCrossing}: float32 bytes per image sent from one device to another (the input sent to
 * each device and the answer returned are not counted: the same for every model);
 * {@code testAccuracy}: top-1 on the full test set measured on the exported files when written.
 *
 * <p>Format version 1. Fields are only ever added; readers ignore fields they do not know.
 */
public record FluidManifest(
    int formatVersion,
    String name,
    int numClasses,
    ModelInput input,
    int groups,
    List<Integer> channels,
    String crossLinks,
    List<SubNetwork> subNetworks,
    List<CombinedMode> combined,
    WidthSplitModel staticModel,
    List<WidthSplitModel> dynamic) {

  public static final String FILE_NAME = "fluid.json";
  public static final int FORMAT_VERSION = 1;

  public FluidManifest {
    channels = List.copyOf(channels);
    subNetworks = List.copyOf(subNetworks);
    combined = List.copyOf(combined);
    dynamic = List.copyOf(dynamic);
    if (subNetworks.size() != groups) {
      throw new IllegalArgumentException(groups + " groups but " + subNetworks.size() + " sub-networks");
    }
  }

  /** Sub-network {@code device} (1-based) alone. */
  public record SubNetwork(int device, String file, String output, long params, long macs, double testAccuracy) {}

  /** High-accuracy mode on devices 1..{@code devices}. */
  public record CombinedMode(
      int devices,
      List<Stage> stages,
      List<Transfer> transfers,
      String output,
      long params,
      long macs,
      long bytesCrossing,
      double testAccuracy) {
    public CombinedMode {
      stages = List.copyOf(stages);
      transfers = List.copyOf(transfers);
    }
  }

  /**
   * What device {@code device} runs in a combined mode: {@code file}, reading {@code inputs} (the
   * image and tensors from earlier devices, by name) and producing {@code outputs}.
   */
  public record Stage(int device, String file, List<String> inputs, List<String> outputs) {
    public Stage {
      inputs = List.copyOf(inputs);
      outputs = List.copyOf(outputs);
    }
  }

  /**
   * Tensor {@code tensor} sent from device {@code from} to device {@code to}, shape {@code shape}
   * per image (batch dimension left out), {@code bytes} per image.
   */
  public record Transfer(String tensor, int from, int to, List<Long> shape, long bytes) {
    public Transfer {
      shape = List.copyOf(shape);
    }
  }

  /**
   * A baseline served split by width over devices 1..{@code devices}: {@code width} of every layer
   * (e.g. "1of3"), its file, size, bytes crossing per image and accuracy.
   */
  public record WidthSplitModel(
      String name, String width, int devices, String file, String output, long params, long macs,
      long bytesCrossing, double testAccuracy) {}

  public static FluidManifest read(Path file) throws IOException {
    return VariantFamilyManifest.readJson(file, FluidManifest.class, "Fluid manifest");
  }

  /** Writes the manifest aside, then moves it into place. */
  public void write(Path file) throws IOException {
    VariantFamilyManifest.writeJson(this, file);
  }
}
