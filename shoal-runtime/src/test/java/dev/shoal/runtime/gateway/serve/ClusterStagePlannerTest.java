package dev.shoal.runtime.gateway.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterYaml;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterStagePlannerTest {

  private static final Cluster CLUSTER = ClusterYaml.parse("""
      source: b
      defaults: {bandwidth: 100Mbit, latency: 1ms}
      devices:
        - {name: a, address: 127.0.0.1:7001, memory: 64MiB, speed: 1.0}
        - {name: b, address: 127.0.0.1:7002, memory: 128MiB, speed: 0.5}
        - {name: c, address: 127.0.0.1:7003, memory: 256MiB, speed: 2.0}
      links:
        - {from: b, to: c, bandwidth: 20Mbit, latency: 5ms}
      """, Path.of("."));

  @Test
  void survivorsKeepTheirDevicesLinksAndSource() {
    Cluster bc = ClusterStagePlanner.restrict(CLUSTER, List.of(1, 2));
    assertThat(bc.devices()).extracting(d -> d.name()).containsExactly("b", "c");
    assertThat(bc.bandwidth()[0][1]).isEqualTo(20e6 / 8);
    assertThat(bc.latency()[1][0]).isEqualTo(0.005);
    assertThat(bc.source()).isEqualTo(0);
    assertThat(bc.macsPerSecond()).isEqualTo(CLUSTER.macsPerSecond());
  }

  @Test
  void aDeadSourceLeavesNoSource() {
    Cluster ac = ClusterStagePlanner.restrict(CLUSTER, List.of(0, 2));
    assertThat(ac.devices()).extracting(d -> d.name()).containsExactly("a", "c");
    assertThat(ac.bandwidth()[0][1]).isEqualTo(100e6 / 8);
    assertThat(ac.source()).isNull();
  }

  @Test
  void everyDeviceNeedsAWorkerAddress() {
    Cluster noAddress = ClusterYaml.parse("""
        defaults: {bandwidth: 1Gbit}
        devices:
          - {name: a, address: 127.0.0.1:7001, memory: 64MiB, speed: 1.0}
          - {name: b, memory: 64MiB, speed: 1.0}
        """, Path.of("."));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ClusterServing.workers(noAddress))
        .hasMessageContaining("device 'b' has no 'address'");
  }
}
