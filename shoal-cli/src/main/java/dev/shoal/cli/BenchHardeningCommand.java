package dev.shoal.cli;

import dev.shoal.bench.hardening.HardeningBench;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench hardening}: the API's and the peer links' defences, measured against real processes. */
@Command(
    name = "hardening",
    mixinStandardHelpOptions = true,
    description = {
      "api: attacks on the inference API of a gateway running as its own process (`shoal serve --local`",
      "of a small MLP, -Xmx512m, loopback): slow-loris connections, requests aborted mid-body (the",
      "gateway's descriptors before and after), concurrent maximum-size bodies (its memory), a batch over",
      "--max-batch (a 413, timed). peers: attacks on the mutual-TLS links of a coordinator and 3 worker",
      "processes under load: a captured connection replayed to the same and another worker, forged",
      "deploys, a second coordinator, a batch the plan's frames cannot carry (a 413 from the plan), a",
      "SIGSTOPped worker. Each row counts answered / lost / wrong and false re-plans. Writes",
      "hardening.json and .csv to --out."
    })
public final class BenchHardeningCommand implements Callable<Integer> {

  @Option(names = "--slow-connections", defaultValue = "200",
      description = "slow-loris connections (default: ${DEFAULT-VALUE})")
  int slowConnections;

  @Option(names = "--slow-seconds", defaultValue = "30", description = "slow-loris duration (default: ${DEFAULT-VALUE})")
  int slowSeconds;

  @Option(names = "--aborted", defaultValue = "10000",
      description = "requests aborted mid-body (default: ${DEFAULT-VALUE})")
  int aborted;

  @Option(names = "--big-bodies", defaultValue = "16",
      description = "concurrent maximum-size (16 MiB) bodies (default: ${DEFAULT-VALUE})")
  int bigBodies;

  @Option(names = "--max-batch", defaultValue = "4096",
      description = "the gateway's --max-batch (default: ${DEFAULT-VALUE})")
  long maxBatch;

  @Option(names = "--big-batch", defaultValue = "5000",
      description = "images in the over-limit batch (default: ${DEFAULT-VALUE})")
  int bigBatch;

  @Option(names = "--sections", split = ",", defaultValue = "api,peers",
      description = "which rows: api, peers (default: ${DEFAULT-VALUE})")
  List<String> sections;

  @Option(names = "--clients", defaultValue = "4",
      description = "concurrent clients during the peer attacks (default: ${DEFAULT-VALUE})")
  int clients;

  @Option(names = "--freeze-seconds", defaultValue = "5",
      description = "how long a worker is SIGSTOPped (default: ${DEFAULT-VALUE})")
  int freezeSeconds;

  @Option(names = "--out", defaultValue = "bench-results/hardening",
      description = "results directory (default: ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() throws Exception {
    if (slowConnections < 1 || slowSeconds < 1 || aborted < 1 || bigBodies < 1 || maxBatch < 1 || bigBatch < 1
        || clients < 1 || freezeSeconds < 1) {
      throw new IllegalArgumentException("every count and duration must be >= 1");
    }
    Set<HardeningBench.Section> chosen = EnumSet.noneOf(HardeningBench.Section.class);
    for (String s : sections) {
      try {
        chosen.add(HardeningBench.Section.valueOf(s.strip().toUpperCase(Locale.ROOT)));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--sections: unknown section '" + s + "' (known: api, peers)");
      }
    }
    HardeningBench.run(new HardeningBench.Config(List.of(ShoalCli.class.getName(), "serve"), slowConnections,
        Duration.ofSeconds(slowSeconds), aborted, bigBodies, maxBatch, bigBatch, chosen, clients,
        Duration.ofSeconds(freezeSeconds)), out, System.out);
    return 0;
  }
}
