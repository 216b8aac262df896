package dev.shoal.runtime.security;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import javax.net.ssl.SSLException;

/**
 * How this node talks to its peers: mutual TLS 1.3 with its cluster credentials (the default and
 * the only way off loopback), or — for the TLS-overhead benchmark's baseline only — plaintext on
 * loopback. A coordinator also holds its {@link CoordinatorSession}, the identity its worker
 * leases are held under.
 */
public final class PeerSecurity {
  private static final Logger LOG = Logger.getLogger(PeerSecurity.class.getName());
  static final String TLS_PROTOCOL = "TLSv1.3";

  private final PeerIdentity self;
  private final NodeCredentials credentials;
  private final CoordinatorSession session;
  private final Map<String, SslContext> clientContexts = new ConcurrentHashMap<>();
  private volatile SslContext serverContext;

  private PeerSecurity(PeerIdentity self, NodeCredentials credentials, boolean takeOver) {
    this.self = self;
    this.credentials = credentials;
    this.session = self.role() == NodeRole.COORDINATOR ? new CoordinatorSession(self.name(), takeOver) : null;
  }

  /** Mutual TLS with these credentials; a coordinator leases its workers without taking them over. */
  public static PeerSecurity mutualTls(NodeCredentials credentials) {
    return mutualTls(credentials, false);
  }

  /**
   * Mutual TLS with these credentials.
   *
   * @param takeOver a coordinator takes each worker's lease even while another coordinator holds it
   */
  public static PeerSecurity mutualTls(NodeCredentials credentials, boolean takeOver) {
    return new PeerSecurity(credentials.identity(), credentials, takeOver);
  }

  /**
   * No encryption and no authentication, for measuring what TLS costs: servers refuse to bind
   * anything but a loopback address, and every use is logged as a warning.
   */
  public static PeerSecurity insecurePlaintext(PeerIdentity self) {
    LOG.warning("INSECURE: " + self + " runs its peer links in plaintext without authentication "
        + "(loopback only; for measurements, never for a cluster)");
    return new PeerSecurity(self, null, false);
  }

  public boolean tls() {
    return credentials != null;
  }

  public PeerIdentity self() {
    return self;
  }

  /** The lease session of a coordinator; null on a worker. */
  public CoordinatorSession session() {
    return session;
  }

  /** For logs: the TLS setting and the cluster CA's fingerprint. */
  public String describe() {
    return tls() ? "mutual TLS 1.3 as " + self + ", cluster CA " + credentials.caFingerprint()
        : "INSECURE plaintext as " + self;
  }

  /** Client TLS for dialling a worker that must present the certificate of node {@code peerName}. */
  public SslContext clientContext(String peerName) {
    requireTls();
    return clientContexts.computeIfAbsent(peerName, name -> build(() -> GrpcSslContexts.forClient()
        .keyManager(credentials.key(), credentials.certificate())
        .trustManager(new PeerTrustManager(credentials.ca(), name, NodeRole.WORKER))
        .protocols(TLS_PROTOCOL)
        .build()));
  }

  /** Server TLS: any node of the cluster may connect; {@link PeerAuthorization} checks each call's role. */
  public SslContext serverContext() {
    requireTls();
    SslContext c = serverContext;
    if (c == null) {
      c = build(() -> GrpcSslContexts.configure(SslContextBuilder.forServer(credentials.key(), credentials.certificate()))
          .trustManager(new PeerTrustManager(credentials.ca(), null, null))
          .clientAuth(ClientAuth.REQUIRE)
          .protocols(TLS_PROTOCOL)
          .build());
      serverContext = c;
    }
    return c;
  }

  private void requireTls() {
    if (credentials == null) {
      throw new IllegalStateException(self + " runs in plaintext");
    }
  }

  private interface ContextMaker {
    SslContext make() throws SSLException;
  }

  private static SslContext build(ContextMaker maker) {
    try {
      return maker.make();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
    }
  }
}
