package dev.shoal.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class InstanceTest {

  /** Three devices a, b, c; b is the source; the b-c link is slow; times differ per device. */
  private static final Instance ABC = new Instance(
      List.of(new Layer("l0", new double[] {1, 2, 3}, 10, 20, 30), new Layer("l1", new double[] {4, 5, 6}, 1, 2, 3)),
      100,
      List.of(new DeviceSpec("a", 64), new DeviceSpec("b", 128), new DeviceSpec("c", 256)),
      new double[][] {{0, 12.5e6, 12.5e6}, {12.5e6, 0, 2.5e6}, {12.5e6, 2.5e6, 0}},
      new double[][] {{0, 0.001, 0.001}, {0.001, 0, 0.005}, {0.001, 0.005, 0}},
      1);

  @Test
  void survivorsKeepTheirTimesMemoryLinksAndSource() {
    Instance bc = ABC.onDevices(new int[] {1, 2});
    assertThat(bc.devices()).extracting(DeviceSpec::name).containsExactly("b", "c");
    assertThat(bc.layers().get(1).time()).containsExactly(5, 6);
    assertThat(bc.layers().get(0).cutBytes()).isEqualTo(30);
    assertThat(bc.bandwidth()[0][1]).isEqualTo(2.5e6);
    assertThat(bc.latency()[1][0]).isEqualTo(0.005);
    assertThat(bc.source()).isEqualTo(0);
    assertThat(bc.inputBytes()).isEqualTo(100);
  }

  @Test
  void aDeadSourceLeavesNoSource() {
    Instance ca = ABC.onDevices(new int[] {2, 0});
    assertThat(ca.devices()).extracting(DeviceSpec::name).containsExactly("c", "a");
    assertThat(ca.layers().get(0).time()).containsExactly(3, 1);
    assertThat(ca.bandwidth()[0][1]).isEqualTo(12.5e6);
    assertThat(ca.source()).isNull();
  }
}
