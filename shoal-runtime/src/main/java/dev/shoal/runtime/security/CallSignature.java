package dev.shoal.runtime.security;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The value of the {@code shoal-auth} header: {@code v1.<millis>.<nonce>.<hmac>}, where hmac is
 * HMAC-SHA256 over the gRPC method name, the time and the nonce. Binding the method stops a
 * captured heartbeat signature from being reused for a deploy.
 */
final class CallSignature {
  static final String VERSION = "v1";
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final HexFormat HEX = HexFormat.of();

  private CallSignature() {}

  static String sign(ClusterSecret secret, String method, long millis) {
    byte[] nonceBytes = new byte[12];
    RANDOM.nextBytes(nonceBytes);
    String nonce = HEX.formatHex(nonceBytes);
    return VERSION + "." + millis + "." + nonce + "." + HEX.formatHex(mac(secret, method, millis, nonce));
  }

  /** The parsed header, or {@code null} when it is not a well-formed signature. */
  static Parsed parse(String header) {
    String[] parts = header.split("\\.");
    if (parts.length != 4 || !VERSION.equals(parts[0])) {
      return null;
    }
    try {
      return new Parsed(Long.parseLong(parts[1]), parts[2], HEX.parseHex(parts[3]));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  static boolean verify(ClusterSecret secret, String method, Parsed p) {
    return MessageDigest.isEqual(mac(secret, method, p.millis(), p.nonce()), p.mac());
  }

  record Parsed(long millis, String nonce, byte[] mac) {}

  private static byte[] mac(ClusterSecret secret, String method, long millis, String nonce) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.key(), "HmacSHA256"));
      return mac.doFinal((method + "\n" + millis + "\n" + nonce).getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
