package dev.shoal.train.recipes;

import java.util.List;

/** One member of the variant family: input resolution, width multiplier, head width. */
public record VariantSpec(String name, int resolution, double widthMultiplier, int headWidth) {

  /**
   * The family trained here. Width is fixed at the paper's smallest multiplier, 0.35: the base's
   * parameters sit in its width-scaled backbone and head, so a variant at 0.5 would have only ~4x
   * fewer parameters, short of the 5.8x target. The family varies what the paper varied besides
   * width — input resolution, 28 down to 16, which spans the MAC range — and, as in the paper's
   * code, gives each variant its own head, wider for the lower resolutions.
   */
  public static final List<VariantSpec> DEFAULT_FAMILY =
      List.of(
          new VariantSpec("v28", 28, 0.35, 128),
          new VariantSpec("v24", 24, 0.35, 160),
          new VariantSpec("v20", 20, 0.35, 192),
          new VariantSpec("v16", 16, 0.35, 256));

  /** The same family with every member at width multiplier {@code width}. */
  public static List<VariantSpec> atWidth(List<VariantSpec> family, double width) {
    if (!(width > 0 && width <= 1)) {
      throw new IllegalArgumentException("width multiplier must be in (0, 1], got " + width);
    }
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
