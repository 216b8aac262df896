package dev.shoal.runtime.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The API keys a gateway accepts, as bearer tokens. Only each token's SHA-256 is stored (a keys
 * file line is {@code NAME SHA256-HEX}), so the file does not give the tokens away; a token is shown
 * once, when it is made. Tokens are 256 random bits, so an unsalted hash is enough.
 */
public final class ApiKeys {

  /** A named key, by the hash of its token. */
  public record Key(String name, byte[] sha256) {}

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final String TOKEN_PREFIX = "shoal_";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final List<Key> keys;

  private ApiKeys(List<Key> keys) {
    this.keys = List.copyOf(keys);
  }

  /** No keys: the gateway is open (allowed on loopback only). */
  public static ApiKeys none() {
    return new ApiKeys(List.of());
  }

  public boolean isEmpty() {
    return keys.isEmpty();
  }

  public int size() {
    return keys.size();
  }

  /** Reads a keys file; a malformed line is an error naming the file and line. */
  public static ApiKeys load(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the API keys file " + file + ": " + e.getMessage(), e);
    }
    List<Key> keys = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] parts = line.split("\\s+");
      if (parts.length != 2 || !NAME.matcher(parts[0]).matches() || !parts[1].matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException(file + " line " + (i + 1)
            + ": expected 'NAME SHA256-HEX' (as `shoal keys add` writes), got '" + line + "'");
      }
      keys.add(new Key(parts[0], HexFormat.of().parseHex(parts[1])));
    }
    if (keys.isEmpty()) {
      throw new IllegalArgumentException(file + " holds no API keys: add one with `shoal keys add --name N --out "
          + file + "`");
    }
    return new ApiKeys(keys);
  }

  /**
   * Makes a new key named {@code name}, appends its hash to {@code file} (created owner-only if
   * missing) and returns the token, which is stored nowhere else.
   */
  public static String add(Path file, String name) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("key name '" + name + "' must be 1-64 letters, digits, '.', '_' or '-'");
    }
    try {
      if (Files.exists(file)) {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          if (line.strip().split("\\s+")[0].equals(name)) {
            throw new IllegalArgumentException(file + " already has a key named '" + name + "'");
          }
        }
      } else {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      }
      byte[] secret = new byte[32];
      RANDOM.nextBytes(secret);
      String token = TOKEN_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
      Files.writeString(file, name + " " + HexFormat.of().formatHex(sha256(token)) + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.APPEND);
      return token;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the API keys file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * The name of the key whose token is {@code token}, if any. Every stored hash is compared, in
   * constant time each, so the answer's timing does not tell which key nearly matched.
   */
  public Optional<String> caller(String token) {
    byte[] given = sha256(token);
    String found = null;
    for (Key k : keys) {
      if (MessageDigest.isEqual(given, k.sha256()) && found == null) {
        found = k.name();
      }
    }
    return Optional.ofNullable(found);
  }

  /**
   * The caller named by an {@code Authorization} header value ({@code Bearer TOKEN}), if the header
   * is present, well-formed and names a known key.
   */
  public Optional<String> callerOfHeader(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Optional.empty();
    }
    return caller(authorization.substring(7).strip());
  }

  static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }
}
