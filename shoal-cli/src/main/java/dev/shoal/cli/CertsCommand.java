package dev.shoal.cli;

import dev.shoal.plan.cluster.ClusterDevice;
import dev.shoal.plan.cluster.ClusterYaml;
import dev.shoal.runtime.security.NodeRole;
import dev.shoal.runtime.security.PeerIdentity;
import dev.shoal.runtime.security.certs.CertificateAuthority;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal certs}: the cluster CA and one certificate per node, for mutual TLS between peers. */
@Command(
    name = "certs",
    mixinStandardHelpOptions = true,
    description = {
      "Make a cluster CA (OUT/ca: ca.pem, ca.key; keep ca.key to yourself) and one directory per node",
      "(OUT/<node>: ca.pem, node.pem, node.key). Copy OUT/<node> to that node and start it with",
      "`shoal worker --credentials DIR` or `shoal serve --credentials DIR`. Each certificate names",
      "its node (as the cluster file does) and its role, coordinator or worker: a worker's",
      "certificate cannot deploy. Run again with the same OUT to add nodes under the same CA.",
      ""
    })
public final class CertsCommand implements Callable<Integer> {

  @Option(names = "--out", paramLabel = "DIR", required = true, description = "directory to write into")
  Path out;

  @Option(names = "--nodes", paramLabel = "NAME", split = ",",
      description = "node names, e.g. coordinator,w1,w2 (those listed in --coordinators get the coordinator role)")
  List<String> nodes = new ArrayList<>();

  @Option(names = "--cluster", paramLabel = "C.yaml",
      description = "also every device of this cluster file, as a worker")
  Path cluster;

  @Option(names = "--coordinators", paramLabel = "NAME", split = ",", defaultValue = "coordinator",
      description = "which nodes are coordinators (default: ${DEFAULT-VALUE}; always issued)")
  List<String> coordinators;

  @Option(names = "--days", defaultValue = "365", description = "validity of new certificates, days (default: ${DEFAULT-VALUE})")
  int days;

  @Option(names = "--force", description = "replace node directories that exist")
  boolean force;

  @Override
  public Integer call() throws Exception {
    if (days < 1) {
      throw new IllegalArgumentException("--days must be >= 1, got " + days);
    }
    Set<String> names = new LinkedHashSet<>(coordinators);
    names.addAll(nodes);
    if (cluster != null) {
      for (ClusterDevice d : ClusterYaml.read(cluster).devices()) {
        names.add(d.name());
      }
    }
    List<PeerIdentity> identities = new ArrayList<>();
    for (String name : names) {
      if (name.equals(CertificateAuthority.CA_DIR)) {
        throw new IllegalArgumentException("'" + CertificateAuthority.CA_DIR + "' is the CA's directory, not a node name");
      }
      identities.add(new PeerIdentity(name, coordinators.contains(name) ? NodeRole.COORDINATOR : NodeRole.WORKER));
      if (Files.exists(out.resolve(name)) && !force) {
        throw new IllegalArgumentException(out.resolve(name) + " exists; use --force to replace it");
      }
    }
    Duration validity = Duration.ofDays(days);
    CertificateAuthority ca;
    if (CertificateAuthority.exists(out)) {
      ca = CertificateAuthority.load(out);
      System.out.println("using the cluster CA in " + out.resolve(CertificateAuthority.CA_DIR));
    } else {
      ca = CertificateAuthority.create("shoal", validity.plusDays(1));
      ca.write(out);
      System.out.println("new cluster CA in " + out.resolve(CertificateAuthority.CA_DIR) + " (keep ca.key private)");
    }
    for (PeerIdentity id : identities) {
      Path dir = ca.issue(id, validity, out);
      System.out.println("  " + id + " -> " + dir);
    }
    return 0;
  }
}
