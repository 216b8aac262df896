package dev.shoal.runtime.security.certs;

import dev.shoal.runtime.security.NodeCredentials;
import dev.shoal.runtime.security.NodeRole;
import dev.shoal.runtime.security.Pem;
import dev.shoal.runtime.security.PeerIdentity;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A cluster CA: an EC P-256 key and a self-signed certificate that signs one certificate per
 * node. A node certificate's subject names the node (CN) and its role (OU); a worker's may serve
 * and dial (TLS server and client key usage), a coordinator's only dial. The CA's own directory
 * ({@value #CA_DIR}: ca.pem, ca.key) stays with the operator; each node gets only its own
 * directory ({@link NodeCredentials}).
 */
public final class CertificateAuthority {
  public static final String CA_DIR = "ca";
  public static final String CA_KEY_FILE = "ca.key";
  private static final String SIGNATURE = "SHA256withECDSA";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final X509Certificate certificate;
  private final PrivateKey key;

  private CertificateAuthority(X509Certificate certificate, PrivateKey key) {
    this.certificate = certificate;
    this.key = key;
  }

  /** A new CA, valid from now for {@code validity}. */
  public static CertificateAuthority create(String clusterName, Duration validity) {
    KeyPair pair = newKeyPair();
    X500Principal subject = new X500Principal("CN=" + clusterName + " CA,O=Shoal cluster");
    Instant now = Instant.now();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
          Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), subject, pair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
      return new CertificateAuthority(sign(b, pair.getPrivate()), pair.getPrivate());
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot make the cluster CA: " + e.getMessage(), e);
    }
  }

  /** The CA kept in {@code dir/ca} by {@link #write}. */
  public static CertificateAuthority load(Path dir) {
    Path caDir = dir.resolve(CA_DIR);
    return new CertificateAuthority(Pem.readCertificate(caDir.resolve(NodeCredentials.CA_FILE)),
        Pem.readPrivateKey(caDir.resolve(CA_KEY_FILE)));
  }

  public static boolean exists(Path dir) {
    return Files.isRegularFile(dir.resolve(CA_DIR).resolve(CA_KEY_FILE));
  }

  /** Writes {@code dir/ca/ca.pem} and {@code dir/ca/ca.key} (owner-readable only). */
  public void write(Path dir) throws IOException {
    Path caDir = dir.resolve(CA_DIR);
    Files.createDirectories(caDir);
    writeCertificate(caDir.resolve(NodeCredentials.CA_FILE), certificate);
    Pem.writePrivate(caDir.resolve(CA_KEY_FILE), Pem.encode("PRIVATE KEY", key.getEncoded()));
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /**
   * Issues a certificate for one node and writes its directory {@code dir/<name>}: ca.pem,
   * node.pem, node.key. Returns the directory.
   */
  public Path issue(PeerIdentity node, Duration validity, Path dir) throws IOException {
    KeyPair pair = newKeyPair();
    Instant now = Instant.now();
    boolean worker = node.role() == NodeRole.WORKER;
    X509Certificate cert;
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(certificate, serial(),
          Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)),
          new X500Principal(node.subject()), pair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
          .addExtension(Extension.extendedKeyUsage, false, worker
              ? new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth})
              : new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth))
          // the node's name as a DNS name too, for standard tools (gRPC clients with -authority NAME)
          .addExtension(Extension.subjectAlternativeName, false,
              new GeneralNames(new GeneralName(GeneralName.dNSName, node.name())))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()))
          .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
      cert = sign(b, key);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot issue a certificate for " + node + ": " + e.getMessage(), e);
    }
    Path nodeDir = dir.resolve(node.name());
    Files.createDirectories(nodeDir);
    writeCertificate(nodeDir.resolve(NodeCredentials.CA_FILE), certificate);
    writeCertificate(nodeDir.resolve(NodeCredentials.CERT_FILE), cert);
    Pem.writePrivate(nodeDir.resolve(NodeCredentials.KEY_FILE), Pem.encode("PRIVATE KEY", pair.getPrivate().getEncoded()));
    return nodeDir;
  }

  /**
   * What the demo, the benchmarks and the tests use: a fresh CA in {@code dir} and node
   * directories for the coordinator(s) and the workers, valid for a day.
   */
  public static CertificateAuthority provision(Path dir, List<String> coordinators, List<String> workers)
      throws IOException {
    CertificateAuthority ca = create("shoal-local", Duration.ofDays(1));
    ca.write(dir);
    for (String c : coordinators) {
      ca.issue(new PeerIdentity(c, NodeRole.COORDINATOR), Duration.ofDays(1), dir);
    }
    for (String w : workers) {
      ca.issue(new PeerIdentity(w, NodeRole.WORKER), Duration.ofDays(1), dir);
    }
    return ca;
  }

  private static void writeCertificate(Path file, X509Certificate cert) throws IOException {
    try {
      Files.writeString(file, Pem.encode("CERTIFICATE", cert.getEncoded()), StandardCharsets.US_ASCII);
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IOException(e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(SIGNATURE).build(signer)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC P-256 unavailable: " + e.getMessage(), e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }
}
