package dev.shoal.cli;

import static dev.shoal.cli.ModelCommandsTest.shoal;
import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.NodeRole;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code shoal certs}: a CA and node directories that nodes load, roles as named, nodes added later under the same CA. */
class CertsCommandTest {
  @TempDir Path dir;

  @Test
  void makesACaAndOneDirectoryPerNodeWithItsRole() throws Exception {
    ModelCommandsTest.Result r = shoal("certs", "--out", dir.toString(), "--nodes", "coordinator,w1,w2", "--days", "30");
    assertThat(r.status()).as(r.err()).isZero();
    NodeCredentials coordinator = NodeCredentials.load(dir.resolve("coordinator"));
    NodeCredentials w1 = NodeCredentials.load(dir.resolve("w1"));
    assertThat(coordinator.identity().role()).isEqualTo(NodeRole.COORDINATOR);
    assertThat(w1.identity().name()).isEqualTo("w1");
    assertThat(w1.identity().role()).isEqualTo(NodeRole.WORKER);
    assertThat(w1.caFingerprint()).isEqualTo(coordinator.caFingerprint());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("w1").resolve("node.key"))))
        .isEqualTo("rw-------");
    assertThat(w1.certificate().getNotAfter().getTime() - System.currentTimeMillis())
        .isBetween(29L * 86_400_000, 30L * 86_400_000);

    // a node added later is signed by the same CA; an existing one is not overwritten by accident
    assertThat(shoal("certs", "--out", dir.toString(), "--nodes", "w3").status()).isZero();
    assertThat(NodeCredentials.load(dir.resolve("w3")).caFingerprint()).isEqualTo(coordinator.caFingerprint());
    ModelCommandsTest.Result again = shoal("certs", "--out", dir.toString(), "--nodes", "w1");
    assertThat(again.status()).isNotZero();
    assertThat(again.err()).contains("w1 exists; use --force");
  }

  @Test
  void badNamesAndMismatchedFilesGetOneLineErrors() throws Exception {
    ModelCommandsTest.Result bad = shoal("certs", "--out", dir.toString(), "--nodes", "w_1");
    assertThat(bad.status()).isNotZero();
    assertThat(bad.err()).contains("node name 'w_1' must match");
    assertThat(shoal("certs", "--out", dir.resolve("a").toString(), "--nodes", "w1").status()).isZero();
    assertThat(shoal("certs", "--out", dir.resolve("b").toString(), "--nodes", "w1").status()).isZero();
    // w1's certificate with the other cluster's CA: refused on loading, naming the file
    Files.copy(dir.resolve("b").resolve("w1").resolve("ca.pem"), dir.resolve("a").resolve("w1").resolve("ca.pem"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    ModelCommandsTest.Result worker = shoal("worker", "--listen", "127.0.0.1:0", "--credentials",
        dir.resolve("a").resolve("w1").toString());
    assertThat(worker.status()).isNotZero();
    assertThat(worker.err()).contains("node.pem is not signed by the cluster CA");
  }
}
