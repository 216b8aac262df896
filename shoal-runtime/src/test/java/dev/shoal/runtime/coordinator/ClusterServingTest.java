package dev.shoal.runtime.coordinator;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.plan.cluster.Cluster;
import dev.shoal.plan.cluster.ClusterYaml;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ClusterServingTest {

  @Test
  void everyDeviceNeedsAWorkerAddress() {
    Cluster noAddress = ClusterYaml.parse("""
        defaults: {bandwidth: 1Gbit}
        devices:
          - {name: a, address: 127.0.0.1:7001, memory: 64MiB, speed: 1.0}
          - {name: b, memory: 64MiB, speed: 1.0}
        """, Path.of("."));
    assertThatThrownBy(() -> ClusterServing.workers(noAddress))
        .hasMessageContaining("device 'b' has no 'address'");
  }
}
