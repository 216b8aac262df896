package dev.shoal.runtime.security;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;

/**
 * One node's cluster credentials, as {@code shoal certs} writes them into the node's directory:
 * {@value #CA_FILE} (the cluster CA, the only certificate a peer is trusted by),
 * {@value #CERT_FILE} (this node's certificate, naming it and its role) and {@value #KEY_FILE}
 * (its PKCS#8 private key, readable by its owner only). Copying that directory to the board is
 * the whole provisioning.
 */
public record NodeCredentials(PeerIdentity identity, X509Certificate ca, X509Certificate certificate,
    PrivateKey key) {
  public static final String CA_FILE = "ca.pem";
  public static final String CERT_FILE = "node.pem";
  public static final String KEY_FILE = "node.key";

  /**
   * Reads and checks a node directory: the certificate must be signed by the CA, valid now, and
   * match the key.
   *
   * @throws IllegalArgumentException saying which file is wrong and why
   */
  public static NodeCredentials load(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("node credentials " + dir + " is not a directory (make one with "
          + "`shoal certs --out DIR --nodes ...` and copy DIR/<node> to the node)");
    }
    X509Certificate ca = Pem.readCertificate(dir.resolve(CA_FILE));
    X509Certificate cert = Pem.readCertificate(dir.resolve(CERT_FILE));
    PrivateKey key = Pem.readPrivateKey(dir.resolve(KEY_FILE));
    Path certFile = dir.resolve(CERT_FILE);
    try {
      cert.verify(ca.getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(certFile + " is not signed by the cluster CA in " + dir.resolve(CA_FILE)
          + " (" + e.getMessage() + ")");
    }
    try {
      cert.checkValidity();
    } catch (CertificateExpiredException | CertificateNotYetValidException e) {
      throw new IllegalArgumentException(certFile + " is not valid now (" + cert.getNotBefore() + " to "
          + cert.getNotAfter() + "): make a new one with `shoal certs`");
    }
    if (!keyMatches(key, cert)) {
      throw new IllegalArgumentException(dir.resolve(KEY_FILE) + " is not the private key of " + certFile);
    }
    return new NodeCredentials(PeerIdentity.of(cert), ca, cert, key);
  }

  /** First 8 bytes of the CA certificate's SHA-256, to tell clusters apart in logs. */
  public String caFingerprint() {
    try {
      byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(ca.getEncoded());
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean keyMatches(PrivateKey key, X509Certificate cert) {
    try {
      String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
      byte[] probe = "shoal key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] sig = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(cert.getPublicKey());
      verifier.update(probe);
      return verifier.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }
}
