package dev.shoal.cli;

import dev.shoal.runtime.security.ClusterSecret;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal secret}: makes the cluster secret every worker and coordinator of a cluster shares. */
@Command(
    name = "secret",
    mixinStandardHelpOptions = true,
    description = {
      "Write a new random cluster secret (32 bytes, base64, readable by its owner only). Copy the same file",
      "to every worker and coordinator of the cluster: each gRPC call between them is signed with it",
      "(HMAC-SHA256 over method, time and nonce) and unsigned or wrongly signed calls are refused."
    })
public final class SecretCommand implements Callable<Integer> {

  @Option(names = "--out", defaultValue = "cluster.secret", description = "file to write (default ${DEFAULT-VALUE})")
  Path out;

  @Option(names = "--force", description = "replace an existing file")
  boolean force;

  @Override
  public Integer call() throws Exception {
    if (Files.exists(out) && !force) {
      System.err.println("shoal secret: " + out + " exists; use --force to replace it");
      return 2;
    }
    ClusterSecret secret = ClusterSecret.generate();
    secret.write(out);
    System.out.println("wrote cluster secret " + out + " (fingerprint " + secret.fingerprint() + ")");
    return 0;
  }
}
