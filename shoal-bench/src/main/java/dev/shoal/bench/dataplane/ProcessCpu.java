package dev.shoal.bench.dataplane;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time of a set of processes, from {@code /proc/<pid>/stat} (utime + stime, all threads), in
 * clock ticks of 10 ms (Linux's USER_HZ, 100 on every architecture the kernel exports it for).
 */
final class ProcessCpu {
  private static final double SECONDS_PER_TICK = 0.01;

  private ProcessCpu() {}

  /** Seconds of CPU the processes used so far, summed. */
  static double seconds(List<Long> pids) {
    long ticks = 0;
    for (long pid : pids) {
      ticks += ticks(pid);
    }
    return ticks * SECONDS_PER_TICK;
  }

  private static long ticks(long pid) {
    String stat;
    try {
      stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the CPU time of process " + pid, e);
    }
    // the command name (field 2) is in parentheses and may hold spaces: count fields after its end
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 (utime) and 15 (stime)
  }

  /** The host's 1-minute load average, or "?" where unknown. */
  static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException e) {
      return "?";
    }
  }
}
