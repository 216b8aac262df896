package dev.shoal.train.separable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class TransmissionPolicyTest {

  private final SeparableArchitecture arch = SeparableArchitecture.fashion(4, 28, 28, 10);

  @Test
  void baselineBytesAreEveryChunkOfEveryPointInFp32PlusThePartialLogits() {
    // after blocks 1-2: 48/4 = 12 channels of 14x14; after blocks 3-5: 96/4 = 24 channels of 7x7
    long expected = 2L * 4 * 12 * 196 * 4 + 3L * 4 * 24 * 49 * 4 + 4L * 10 * 4;
    assertThat(TransmissionPolicy.baseline(arch).bytes(arch)).isEqualTo(expected);
    assertThat(TransmissionPolicy.none(arch).bytes(arch)).isEqualTo(4L * 10 * 4);
  }

  @Test
  void codecsAndFractionsShrinkTheChunkExactly() {
    int[] ring = {1, 2, 3, 0};
    var policy =
        new TransmissionPolicy(
            4,
            List.of(
                ExchangePoint.NONE,
                ExchangePoint.of(ring, 2, LinkCodec.INT8), // 3 of 12 channels, 14x14
                ExchangePoint.NONE,
                ExchangePoint.of(new int[] {3, 2, 1, 0}, 1, LinkCodec.INT4), // 3 of 24 channels, 7x7
                ExchangePoint.of(ring, 8, LinkCodec.FP16)));
    long[] perPoint = policy.traffic(arch).perPoint();
    assertThat(perPoint).containsExactly(0, 4L * (3 * 196 + 3 * 4), 0, 4L * ((3 * 49 * 4 + 7) / 8 + 3 * 4), 4L * 24 * 49 * 2);
  }

  @Test
  void jsonRoundTrips() {
    var policy =
        new TransmissionPolicy(
            4,
            List.of(
                ExchangePoint.of(new int[] {1, 0, 3, 2}, 3, LinkCodec.FP16),
                ExchangePoint.NONE,
                ExchangePoint.NONE,
                ExchangePoint.of(new int[] {2, 3, 1, 0}, 8, LinkCodec.FP32),
                ExchangePoint.NONE));
    assertThat(TransmissionPolicy.parse(policy.toJson())).isEqualTo(policy);
  }

  @Test
  void badPoliciesAreRefusedNamingThePoint() {
    assertThatThrownBy(() -> TransmissionPolicy.parse(
            "{\"groups\":2,\"points\":[{\"exchange\":true,\"sendTo\":[0,1],\"fraction\":1}]}"))
        .hasMessageContaining("point 1").hasMessageContaining("without fixed points");
    assertThatThrownBy(() -> TransmissionPolicy.parse(
            "{\"groups\":2,\"points\":[{\"exchange\":false},{\"exchange\":true,\"sendTo\":[1,0],\"fraction\":0.3}]}"))
        .hasMessageContaining("point 2").hasMessageContaining("1/8");
    assertThatThrownBy(() -> TransmissionPolicy.parse(
            "{\"groups\":2,\"points\":[{\"exchange\":true,\"sendTo\":[1,0],\"fraction\":1,\"codec\":\"bf16\"}]}"))
        .hasMessageContaining("point 1").hasMessageContaining("unknown codec 'bf16'");
    assertThatThrownBy(() -> TransmissionPolicy.parse("{\"groups\":2,\"points\":[{\"after\":2,\"exchange\":false}]}"))
        .hasMessageContaining("in order");
    assertThatThrownBy(() -> TransmissionPolicy.parse("{\"groups\":2"))
        .hasMessageContaining("not valid JSON");
    assertThatThrownBy(() -> TransmissionPolicy.baseline(SeparableArchitecture.fashion(2, 28, 28, 10)).checkFits(arch))
        .hasMessageContaining("2 groups");
  }

  @Test
  void theSpaceHoldsEveryDerangement() {
    assertThat(PolicySpace.derangements(2)).hasSize(1);
    assertThat(PolicySpace.derangements(3)).hasSize(2);
    assertThat(PolicySpace.derangements(4)).hasSize(9);
  }

  @Test
  void halfPrecisionRoundsToNearestEven() {
    assertThat(LinkCodec.roundToHalf(1f)).isEqualTo(1f);
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa, 1
    assertThat(LinkCodec.roundToHalf(1f + 0x1p-11f)).isEqualTo(1f);
    assertThat(LinkCodec.roundToHalf(1f + 3 * 0x1p-11f)).isEqualTo(1f + 0x1p-9f);
    assertThat(LinkCodec.roundToHalf(0.1f)).isEqualTo(0.0999755859375f);
    assertThat(LinkCodec.roundToHalf(1e6f)).isEqualTo(65504f);
  }

  @Test
  void integerCodecsKeepEachChannelWithinHalfAStep() {
    float[] values = {0f, 0.5f, -1f, 2f, 10f, 10f, 10f, 10f};
    float[] copy = values.clone();
    LinkCodec.INT4.fakeQuantise(copy, 1, 2, 4);
    // channel 0: max 2 -> step 2/7; channel 1: constant, exact
    for (int i = 0; i < 4; i++) {
      assertThat(Math.abs(copy[i] - values[i])).isLessThanOrEqualTo(1f / 7 + 1e-6f);
    }
    assertThat(copy).endsWith(10f, 10f, 10f, 10f);
  }
}
