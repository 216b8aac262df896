package dev.shoal.train.models;

import dev.shoal.train.nn.Act;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.nn.ConvBn;
import dev.shoal.train.nn.Dense;
import dev.shoal.train.nn.GlobalPool;
import dev.shoal.train.nn.InvertedResidual;
import dev.shoal.train.nn.ResizeTo;

/**
 * MobileNetV2 sized for 28x28 single-channel inputs: a stride-1 3x3 stem, the paper's inverted
 * residual stages truncated to 28 -> 14 -> 7 (expansion t, channels c, repeats n, stride s):
 * (1,16,1,1), (6,24,2,2), (6,32,2,2), (6,64,2,1), (6,96,1,1). Channels scale with the width
 * multiplier, rounded to multiples of 8 as in MobileNetV2.
 *
 * <p>Two heads: the base uses MobileNetV2's own (1x1 conv to 1280, ReLU6, global average pool,
 * linear); the variants use the variant-parallelism paper's (1x1 conv of the variant's head width,
 * BN, ReLU, global pool, linear to the classes), but pool by average where the paper's code takes
 * the max: with max pooling the variants diverged under the shared recipe (SGD, lr 0.1), a loss
 * of 88 for the family and 10% accuracy after 10 steps, while average pooling trains like the base.
 */
public final class MobileNetV2Style {

  /** One row of MobileNetV2's stage table. */
  private record Stage(int expansion, int channels, int repeats, int stride) {}

  private static final Stage[] STAGES = {
    new Stage(1, 16, 1, 1),
    new Stage(6, 24, 2, 2),
    new Stage(6, 32, 2, 2),
    new Stage(6, 64, 2, 1),
    new Stage(6, 96, 1, 1),
  };
  private static final int STEM_CHANNELS = 16;
  /** MobileNetV2's last 1x1 convolution width. */
  public static final int BASE_HEAD = 1280;

  private MobileNetV2Style() {}

  /** The base model: width 1.0 at the input's own resolution, MobileNetV2's head. */
  public static Chain base(int classes) {
    Chain net = backbone(1.0);
    net.add(ConvBn.dense(BASE_HEAD, 1, 1, Act.RELU6));
    net.add(new GlobalPool());
    net.add(new Dense(classes));
    return net;
  }

  /**
   * A variant: the input resized to {@code resolution} (left alone when it already has that size),
   * the backbone at width {@code widthMultiplier}, its own head of {@code headWidth} channels with
   * global average pooling, {@code outputs} logits.
   */
  public static Chain variant(
      int inputSize, int resolution, double widthMultiplier, int headWidth, int outputs) {
    Chain net = new Chain();
    if (resolution != inputSize) {
      net.add(new ResizeTo(resolution));
    }
    Chain body = backbone(widthMultiplier);
    net.add(body);
    net.add(ConvBn.dense(headWidth, 1, 1, Act.RELU));
    net.add(new GlobalPool());
    net.add(new Dense(outputs));
    return net;
  }

  private static Chain backbone(double widthMultiplier) {
    Chain net = new Chain();
    int in = divisible(STEM_CHANNELS * widthMultiplier);
    net.add(ConvBn.dense(in, 3, 1, Act.RELU6));
    for (Stage s : STAGES) {
      int out = divisible(s.channels() * widthMultiplier);
      for (int i = 0; i < s.repeats(); i++) {
        net.add(new InvertedResidual(in, out, s.expansion(), i == 0 ? s.stride() : 1, 3));
        in = out;
      }
    }
    return net;
  }

  /** MobileNetV2's channel rounding: nearest multiple of 8, never below 8 nor 10% below the value. */
  static int divisible(double value) {
    int rounded = Math.max(8, (int) (value + 4) / 8 * 8);
    return rounded < 0.9 * value ? rounded + 8 : rounded;
  }
}
