package dev.shoal.runtime.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The cluster's shared secret: every coordinator and worker of one cluster holds the same key and
 * signs each gRPC call with it ({@link AuthClientInterceptor}, {@link AuthServerInterceptor}). The
 * file holds the key as base64 on one line.
 */
public final class ClusterSecret {
  static final int MIN_BYTES = 16;
  private final byte[] key;

  private ClusterSecret(byte[] key) {
    if (key.length < MIN_BYTES) {
      throw new IllegalArgumentException(
          "cluster secret has " + key.length + " bytes, needs at least " + MIN_BYTES);
    }
    this.key = key.clone();
  }

  public static ClusterSecret of(byte[] key) {
    return new ClusterSecret(key);
  }

  public static ClusterSecret generate() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return new ClusterSecret(key);
  }

  /** Reads a secret file written by {@link #write}. */
  public static ClusterSecret load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII).trim();
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read cluster secret " + file + ": " + e.getMessage(), e);
    }
    try {
      return new ClusterSecret(Base64.getDecoder().decode(text));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("cluster secret " + file + ": " + e.getMessage(), e);
    }
  }

  /** Writes the secret readable by its owner only (written aside, then moved into place). */
  public void write(Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".secret", ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, Base64.getEncoder().encodeToString(key) + "\n", StandardCharsets.US_ASCII);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  byte[] key() {
    return key;
  }

  /** A short public fingerprint (first 8 bytes of SHA-256 of the key) to tell secrets apart in logs. */
  public String fingerprint() {
    try {
      byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(key);
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
