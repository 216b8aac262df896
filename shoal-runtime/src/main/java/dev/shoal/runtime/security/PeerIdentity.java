package dev.shoal.runtime.security;

import java.security.cert.X509Certificate;
import java.util.regex.Pattern;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Who a node is, as its cluster certificate says: the subject's CN is the node's name (as the
 * cluster file calls it) and its OU the node's role.
 */
public record PeerIdentity(String name, NodeRole role) {
  /** Node names: what a cluster file may call a device and a DNS label accepts. */
  public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9.-]{0,62}");

  public PeerIdentity {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("node name '" + name + "' must match " + NAME.pattern());
    }
  }

  /** The subject a certificate for this node carries. */
  public String subject() {
    return "CN=" + name + ",OU=" + role.label() + ",O=Shoal cluster";
  }

  /**
   * The identity a certificate names.
   *
   * @throws IllegalArgumentException when its subject lacks a valid CN or OU
   */
  public static PeerIdentity of(X509Certificate cert) {
    String cn = null;
    String ou = null;
    try {
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          cn = rdn.getValue().toString();
        } else if (rdn.getType().equalsIgnoreCase("OU")) {
          ou = rdn.getValue().toString();
        }
      }
    } catch (InvalidNameException e) {
      throw new IllegalArgumentException("certificate subject '" + cert.getSubjectX500Principal() + "': " + e.getMessage());
    }
    if (cn == null || ou == null) {
      throw new IllegalArgumentException("certificate subject '" + cert.getSubjectX500Principal()
          + "' names no Shoal node (needs CN=<node> and OU=coordinator|worker; made by `shoal certs`?)");
    }
    return new PeerIdentity(cn, NodeRole.ofLabel(ou));
  }

  @Override
  public String toString() {
    return role.label() + " '" + name + "'";
  }
}
