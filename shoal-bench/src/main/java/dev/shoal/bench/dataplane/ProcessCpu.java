package dev.shoal.bench.dataplane;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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

  /**
   * CPU ticks of every thread of the processes so far, by thread kind: the thread's name as the
   * kernel keeps it (15 characters) with digits folded to '#', so that a pool's threads add up.
   */
  static Map<String, Long> ticksByThreadKind(List<Long> pids) {
    Map<String, Long> out = new TreeMap<>();
    for (long pid : pids) {
      Path tasks = Path.of("/proc", Long.toString(pid), "task");
      try (var dirs = Files.list(tasks)) {
        for (Path task : dirs.toList()) {
          String stat;
          try {
            stat = Files.readString(task.resolve("stat"));
          } catch (IOException e) {
            continue; // the thread ended meanwhile
          }
          String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[0-9]+", "#");
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          out.merge(name, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list the threads of process " + pid, e);
      }
    }
    return out;
  }

  /** Milliseconds of CPU per thread kind between two {@link #ticksByThreadKind} readings, largest first. */
  static List<Map.Entry<String, Double>> millisBetween(Map<String, Long> before, Map<String, Long> after) {
    Map<String, Double> ms = new HashMap<>();
    after.forEach((k, v) -> ms.put(k, (v - before.getOrDefault(k, 0L)) * SECONDS_PER_TICK * 1e3));
    return ms.entrySet().stream().filter(e -> e.getValue() > 0)
        .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).toList();
  }
}
