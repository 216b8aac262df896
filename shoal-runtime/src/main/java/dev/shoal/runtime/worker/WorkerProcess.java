package dev.shoal.runtime.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A worker (or another serving main class) running as its own local process on this JVM's class
 * path, as the demo, the benchmarks and the tests start them. {@link #kill()} is SIGKILL: no
 * goodbye to anyone.
 */
public final class WorkerProcess implements AutoCloseable {
  private static final Pattern READY = Pattern.compile("listening on (\\S+):(\\d+) ");
  private static final Pattern DATA_PORT = Pattern.compile("\\(data port (\\d+),");

  private final String name;
  private final Process process;
  private final String address;
  private final String dataAddress;

  private WorkerProcess(String name, Process process, String[] addresses) {
    this.name = name;
    this.process = process;
    this.address = addresses[0];
    this.dataAddress = addresses[1];
  }

  /**
   * Starts a worker and waits until it listens.
   *
   * @param prefix command words before the java command, e.g. {@code ip netns exec NS}; may be empty
   * @param listen HOST:PORT, port 0 for any free one
   * @param credentials the worker's node directory ({@code shoal certs}), or null for loopback
   *     plaintext (the TLS-overhead baseline only)
   */
  public static WorkerProcess start(List<String> prefix, String name, String listen, double slowdown,
      Path credentials, Path log) throws IOException {
    List<String> args = new ArrayList<>(List.of("--listen", listen, "--name", name,
        "--slowdown", Double.toString(slowdown)));
    if (credentials == null) {
      args.add("--insecure-plaintext");
    } else {
      args.addAll(List.of("--credentials", credentials.toString()));
    }
    return startMain(prefix, name, WorkerMain.class.getName(), args, log);
  }

  /**
   * Starts any main class of this class path that prints {@code listening on HOST:PORT } once it
   * serves (a worker, the benchmarks' echo server), and waits for that line.
   */
  public static WorkerProcess startMain(List<String> prefix, String name, String mainClass, List<String> args,
      Path log) throws IOException {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.add("-Xss4m"); // ONNX Runtime needs more than the default 1 MiB thread stack
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    Process p = pb.start();
    CompletableFuture<String[]> ready = new CompletableFuture<>();
    Thread pump = new Thread(() -> pumpOutput(p, log, ready), "process-log-" + name);
    pump.setDaemon(true);
    pump.start();
    try {
      return new WorkerProcess(name, p, ready.get(60, TimeUnit.SECONDS));
    } catch (InterruptedException | ExecutionException | TimeoutException e) {
      p.destroyForcibly();
      throw new IOException(name + " did not start (see " + log + "): " + e, e);
    }
  }

  private static void pumpOutput(Process p, Path log, CompletableFuture<String[]> ready) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        var out = java.nio.file.Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null) {
        out.write(line);
        out.newLine();
        out.flush();
        Matcher m = READY.matcher(line);
        if (!ready.isDone() && m.find()) {
          Matcher data = DATA_PORT.matcher(line);
          ready.complete(new String[] {m.group(1) + ":" + m.group(2),
              data.find() ? m.group(1) + ":" + data.group(1) : null});
        }
      }
    } catch (IOException e) {
      ready.completeExceptionally(e);
    }
    ready.completeExceptionally(new IOException("worker exited with " + exitCode(p)));
  }

  private static String exitCode(Process p) {
    try {
      return Integer.toString(p.waitFor());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  public String name() {
    return name;
  }

  /** HOST:PORT the worker listens on (its control port). */
  public String address() {
    return address;
  }

  /** HOST:PORT of a worker's data port; null for another main class. */
  public String dataAddress() {
    return dataAddress;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** SIGKILL, then wait for the process to be gone. */
  public void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(3, TimeUnit.SECONDS)) {
          kill();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        kill();
      }
    }
  }
}
