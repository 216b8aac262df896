package dev.shoal.runtime.gateway;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Who may call the gateway and how the link is protected.
 *
 * @param keys the API keys inference, model metadata and admin calls need; none: those calls are
 *     open (loopback only) and the admin calls are off
 * @param keyedHealth whether health, server metadata, metrics and the status page need a key too
 *     (with keys given); otherwise they stay open for probes and scrapers
 * @param tlsCert PEM certificate chain for TLS on both ports, or null for plain text
 * @param tlsKey PEM (PKCS#8) private key of {@code tlsCert}, or null
 */
public record GatewaySecurity(ApiKeys keys, boolean keyedHealth, Path tlsCert, Path tlsKey) {

  /** No keys, no TLS: for loopback use (tests, demos, benchmarks). */
  public static final GatewaySecurity OPEN = new GatewaySecurity(ApiKeys.none(), false, null, null);

  public GatewaySecurity {
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new IllegalArgumentException("TLS needs both a certificate (--tls-cert) and its key (--tls-key)");
    }
    for (Path p : new Path[] {tlsCert, tlsKey}) {
      if (p != null && !Files.isReadable(p)) {
        throw new IllegalArgumentException("cannot read TLS file " + p);
      }
    }
  }

  public boolean tls() {
    return tlsCert != null;
  }

  /**
   * Refuses to listen beyond this machine with no keys: anyone who reached the port could run the
   * models. Loopback stays usable without keys.
   */
  void checkBinding(InetSocketAddress address, String what) {
    if (keys.isEmpty() && !address.getAddress().isLoopbackAddress()) {
      throw new IllegalArgumentException("refusing to serve " + what + " on " + address.getAddress().getHostAddress()
          + ":" + address.getPort() + " without API keys: anyone who can reach it could run the models; give"
          + " --api-keys FILE (made by `shoal keys add`), or bind 127.0.0.1");
    }
  }
}
