package dev.shoal.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The host's load averages over 1, 5 and 15 minutes, as {@code /proc/loadavg} gives them: what
 * every measured figure is reported beside, since the machine may be shared. NaN where unknown
 * (no {@code /proc}).
 */
public record LoadAverage(double oneMinute, double fiveMinutes, double fifteenMinutes) {

  private static final Path PROC = Path.of("/proc/loadavg");

  /** The load averages now. */
  public static LoadAverage now() {
    try {
      String[] f = Files.readString(PROC).trim().split("\\s+");
      return new LoadAverage(Double.parseDouble(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]));
    } catch (IOException | RuntimeException e) {
      return new LoadAverage(Double.NaN, Double.NaN, Double.NaN);
    }
  }

  /** The 1-minute average as {@code /proc/loadavg} writes it ("2.15"), or "unknown". */
  public String oneMinuteText() {
    return Double.isNaN(oneMinute) ? "unknown" : String.format(Locale.ROOT, "%.2f", oneMinute);
  }

  /** The three averages, 1, 5 and 15 minutes ("2.15 1.80 1.02"), or "unknown". */
  @Override
  public String toString() {
    return Double.isNaN(oneMinute) ? "unknown"
        : String.format(Locale.ROOT, "%.2f %.2f %.2f", oneMinute, fiveMinutes, fifteenMinutes);
  }
}
