package dev.shoal.plan.cluster;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the quantities of a cluster spec: sizes ("512MiB"), bandwidths ("100Mbit"), durations ("0.5ms"). */
public final class Units {

  private static final Pattern QUANTITY = Pattern.compile("\\s*([0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\\s*([A-Za-z/]*)\\s*");

  private Units() {}

  /** Bytes from "512MiB", "64MB", "1GiB", "4096", "4096B"; throws with {@code where} in the message. */
  public static long bytes(String text, String where) {
    Matcher m = match(text, where, "a size such as 512MiB or 64MB");
    double value = Double.parseDouble(m.group(1));
    double factor =
        switch (m.group(2).toLowerCase(Locale.ROOT)) {
          case "", "b" -> 1;
          case "kb" -> 1e3;
          case "mb" -> 1e6;
          case "gb" -> 1e9;
          case "kib" -> 1024.0;
          case "mib" -> 1024.0 * 1024;
          case "gib" -> 1024.0 * 1024 * 1024;
          default -> throw bad(text, where, "a size such as 512MiB or 64MB (units B, KB, MB, GB, KiB, MiB, GiB)");
        };
    return Math.round(value * factor);
  }

  /** Bytes per second from "100Mbit", "1Gbit/s", "12.5MB/s", "500kbit"; a bare 0 means no link. */
  public static double bandwidth(String text, String where) {
    String hint = "a bandwidth such as 100Mbit, 1Gbit/s or 12.5MB/s (0 = no link)";
    Matcher m = match(text, where, hint);
    double value = Double.parseDouble(m.group(1));
    String unit = m.group(2);
    if (unit.endsWith("/s")) {
      unit = unit.substring(0, unit.length() - 2);
    }
    if (unit.isEmpty()) {
      if (value == 0) {
        return 0;
      }
      throw bad(text, where, hint + ": give a unit");
    }
    double bytesPerSecond =
        switch (unit) {
          case "bit", "b" -> value / 8;
          case "kbit", "Kbit", "kb", "Kb" -> value * 1e3 / 8;
          case "Mbit", "mbit", "Mb" -> value * 1e6 / 8;
          case "Gbit", "gbit", "Gb" -> value * 1e9 / 8;
          case "B" -> value;
          case "kB", "KB" -> value * 1e3;
          case "MB" -> value * 1e6;
          case "GB" -> value * 1e9;
          default -> throw bad(text, where, hint);
        };
    return bytesPerSecond;
  }

  /** Seconds from "0.5ms", "200us", "0.001s", or a bare number of seconds. */
  public static double seconds(String text, String where) {
    Matcher m = match(text, where, "a duration such as 0.5ms, 200us or 0.001s");
    double value = Double.parseDouble(m.group(1));
    return switch (m.group(2)) {
      case "", "s" -> value;
      case "ms" -> value / 1e3;
      case "us" -> value / 1e6;
      case "ns" -> value / 1e9;
      default -> throw bad(text, where, "a duration such as 0.5ms, 200us or 0.001s");
    };
  }

  private static Matcher match(String text, String where, String expected) {
    Matcher m = QUANTITY.matcher(text == null ? "" : text);
    if (!m.matches()) {
      throw bad(text, where, expected);
    }
    return m;
  }

  private static IllegalArgumentException bad(String text, String where, String expected) {
    return new IllegalArgumentException(where + ": '" + text + "' is not " + expected);
  }
}
