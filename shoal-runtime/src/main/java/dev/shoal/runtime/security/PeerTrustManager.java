package dev.shoal.runtime.security;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Trusts a peer only when its certificate chains to the cluster CA (PKIX, with the TLS client or
 * server key usage its side needs) and names the expected node: the peer's identity is its
 * certificate's name and role, never its IP address (boards get theirs from DHCP). A dialling
 * side expects one node by name (from the cluster file or the deployment); a listening side
 * accepts any node of the cluster and authorises each call by role ({@link PeerAuthorization}).
 */
final class PeerTrustManager extends X509ExtendedTrustManager {
  private final X509Certificate ca;
  private final X509TrustManager pkix;
  private final String expectedName;
  private final NodeRole expectedRole;

  /**
   * @param expectedName the node the peer must be, or null for any node of the cluster
   * @param expectedRole the role the peer must have, or null for any
   */
  PeerTrustManager(X509Certificate ca, String expectedName, NodeRole expectedRole) {
    this.ca = ca;
    this.pkix = pkixTrusting(ca);
    this.expectedName = expectedName;
    this.expectedRole = expectedRole;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    pkix.checkClientTrusted(chain, authType);
    checkNode(chain[0]);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    pkix.checkServerTrusted(chain, authType);
    checkNode(chain[0]);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[] {ca};
  }

  private void checkNode(X509Certificate leaf) throws CertificateException {
    PeerIdentity peer;
    try {
      peer = PeerIdentity.of(leaf);
    } catch (IllegalArgumentException e) {
      throw new CertificateException(e.getMessage());
    }
    if (expectedName != null && !expectedName.equals(peer.name())) {
      throw new CertificateException("peer is " + peer + ", expected node '" + expectedName + "'");
    }
    if (expectedRole != null && expectedRole != peer.role()) {
      throw new CertificateException("peer is " + peer + ", expected a " + expectedRole.label());
    }
  }

  private static X509TrustManager pkixTrusting(X509Certificate ca) {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      store.setCertificateEntry("shoal-cluster-ca", ca);
      TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
      f.init(store);
      for (TrustManager tm : f.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          return x;
        }
      }
      throw new IllegalStateException("no X509 trust manager from PKIX");
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot build a trust manager for the cluster CA: " + e.getMessage(), e);
    }
  }
}
