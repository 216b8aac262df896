package dev.shoal.bench.pipeline;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An emulated LAN of network namespaces: one namespace per host ({@code shoal-<pid>-c} for the
 * coordinator, {@code shoal-<pid>-<i>} for worker i), each joined by a veth pair to a bridge in a
 * switch namespace ({@code shoal-<pid>-sw}). Addresses come from a private /24 that exists only
 * inside these namespaces; each worker's egress is shaped with {@code tc qdisc … tbf}. Nothing is
 * added to the root namespace, and {@link #close()} deletes every namespace it made, by name.
 */
public final class NetNamespaces implements AutoCloseable {
  private final String prefix = "shoal-" + ProcessHandle.current().pid();
  private final String subnet;
  private final List<String> created = new ArrayList<>();
  private final int workers;

  /**
   * @param rateMbit egress limit of every worker, Mbit/s; 0 for none
   */
  public NetNamespaces(int workers, int rateMbit) throws IOException {
    this.workers = workers;
    this.subnet = "10.213." + (ProcessHandle.current().pid() % 250) + ".";
    try {
      String sw = switchNamespace();
      add(sw);
      ip(sw, "link", "add", "br0", "type", "bridge");
      ip(sw, "link", "set", "br0", "up");
      for (int h = 0; h <= workers; h++) {
        String ns = host(h);
        add(ns);
        run("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "p" + h, "netns", sw);
        ip(sw, "link", "set", "p" + h, "master", "br0");
        ip(sw, "link", "set", "p" + h, "up");
        ip(ns, "addr", "add", address(h) + "/24", "dev", "eth0");
        ip(ns, "link", "set", "eth0", "up");
        ip(ns, "link", "set", "lo", "up");
        if (h > 0 && rateMbit > 0) {
          // burst: at least one rate/HZ worth, and a full 64 KiB frame chunk; queue up to 100 ms
          long burst = Math.max(64 * 1024, rateMbit * 1_000_000L / 8 / 250);
          run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf",
              "rate", rateMbit + "mbit", "burst", Long.toString(burst), "latency", "100ms");
        }
      }
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** Host 0 is the coordinator, hosts 1..n the workers. */
  String host(int h) {
    return h == 0 ? prefix + "-c" : prefix + "-" + h;
  }

  public String address(int h) {
    return subnet + (h + 1);
  }

  public List<String> exec(int h) {
    return List.of("ip", "netns", "exec", host(h));
  }

  int workers() {
    return workers;
  }

  /** The namespace of the bridge; its port {@code p<h>} leads to host h. */
  String switchNamespace() {
    return prefix + "-sw";
  }

  private void add(String ns) throws IOException {
    run("ip", "netns", "add", ns);
    created.add(ns);
  }

  private static void ip(String ns, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("ip", "-n", ns));
    cmd.addAll(List.of(args));
    run(cmd.toArray(String[]::new));
  }

  private static void run(String... cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    try {
      if (p.waitFor() != 0) {
        throw new IOException("`" + String.join(" ", cmd) + "` failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + String.join(" ", cmd), e);
    }
  }

  @Override
  public void close() {
    for (int i = created.size() - 1; i >= 0; i--) {
      try {
        run("ip", "netns", "del", created.get(i));
      } catch (IOException e) {
        System.err.println("could not delete network namespace " + created.get(i) + ": " + e.getMessage());
      }
    }
    created.clear();
  }
}
