package dev.shoal.bench;

import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.PeerSecurity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Certificates for a benchmark's cluster: a throw-away CA in {@code dir} and one node directory
 * for {@value #COORDINATOR} and each named worker, so benchmarks measure the links a real cluster
 * runs (mutual TLS).
 */
public final class BenchCerts {
  public static final String COORDINATOR = "coordinator";

  private BenchCerts() {}

  /** Writes the CA and the node directories; returns {@code dir}. */
  public static Path provision(Path dir, List<String> workers) throws IOException {
    CertificateAuthority.provision(dir, List.of(COORDINATOR), workers);
    return dir;
  }

  /** The coordinator's side of the links, from a directory {@link #provision} wrote. */
  public static PeerSecurity coordinator(Path dir) {
    return PeerSecurity.mutualTls(NodeCredentials.load(dir.resolve(COORDINATOR)));
  }
}
