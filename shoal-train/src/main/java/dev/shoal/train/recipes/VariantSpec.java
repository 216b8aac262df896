package dev.shoal.train.recipes;

import java.util.List;

/** One member of the variant family: input resolution, width multiplier, head width. */
public record VariantSpec(String name, int resolution, double widthMultiplier, int headWidth) {

  public VariantSpec {
    if (!name.matches("[A-Za-z0-9_-]+")) {
      throw new IllegalArgumentException("variant name '" + name + "': use letters, digits, '_' or '-' (it names the ONNX file)");
    }
    if (resolution < 8 || resolution > 256) {
      throw new IllegalArgumentException("variant " + name + ": resolution must be in [8, 256], got " + resolution);
    }
    if (!(widthMultiplier > 0 && widthMultiplier <= 1)) {
      throw new IllegalArgumentException("variant " + name + ": width multiplier must be in (0, 1], got " + widthMultiplier);
    }
    if (headWidth < 1) {
      throw new IllegalArgumentException("variant " + name + ": head width must be >= 1, got " + headWidth);
    }
  }

  /** Parses {@code NAME:RESOLUTION:WIDTH:HEAD}, e.g. {@code v28:28:0.35:128}. */
  public static VariantSpec parse(String text) {
    String[] f = text.split(":", -1);
    if (f.length != 4) {
      throw new IllegalArgumentException("variant '" + text + "': expected NAME:RESOLUTION:WIDTH:HEAD, e.g. v28:28:0.35:128");
    }
    try {
      return new VariantSpec(f[0], Integer.parseInt(f[1]), Double.parseDouble(f[2]), Integer.parseInt(f[3]));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("variant '" + text + "': resolution and head must be integers, width a number", e);
    }
  }

  /** A family: at least one member, names unique (each names its ONNX file). */
  public static List<VariantSpec> family(List<VariantSpec> members) {
    if (members.isEmpty()) {
      throw new IllegalArgumentException("a variant family needs at least one variant");
    }
    long distinct = members.stream().map(VariantSpec::name).distinct().count();
    if (distinct != members.size()) {
      throw new IllegalArgumentException("variant names must be unique, got " + members.stream().map(VariantSpec::name).toList());
    }
    return List.copyOf(members);
  }

  /**
   * The family trained here: four MobileNetV2 backbones at width multiplier 0.4, all at the input's
   * own 28x28 resolution, that differ in head width (128 to 256). Width 0.4 is the widest multiplier
   * that keeps every member under the 5.8x parameter target (6.1-7.0x fewer); the head widths spend
   * the rest of that budget. Resolution is not lowered: on 28x28 inputs a member at 16 to 24 pixels
   * lost more accuracy than its different view added to the ensemble (measured: a 28/24/20/16
   * family fused to 0.9159, a 28/26/24/22 one to 0.9171, this one to 0.9205, base 0.9190; 8 epochs,
   * docs/training.md). The members differ by initialisation and head, not by input.
   */
  public static final List<VariantSpec> DEFAULT_FAMILY =
      List.of(
          new VariantSpec("v28h128", 28, 0.4, 128),
          new VariantSpec("v28h160", 28, 0.4, 160),
          new VariantSpec("v28h192", 28, 0.4, 192),
          new VariantSpec("v28h256", 28, 0.4, 256));

  /** The same family with every member at width multiplier {@code width}. */
  public static List<VariantSpec> atWidth(List<VariantSpec> family, double width) {
    return family.stream().map(v -> new VariantSpec(v.name(), v.resolution(), width, v.headWidth())).toList();
  }

  /** The VP paper's aggregator scale: {@code (r / max r) * (alpha / 0.35)^1.15}. */
  public double fusionWeight(int maxResolution) {
    return (double) resolution / maxResolution * Math.pow(widthMultiplier / 0.35, 1.15);
  }

  public String file() {
    return name + ".onnx";
  }
}
