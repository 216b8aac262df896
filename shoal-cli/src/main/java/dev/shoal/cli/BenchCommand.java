package dev.shoal.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code shoal bench …}: experiments that reproduce the papers' claims; each prints a table and writes CSV/JSON. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Run a benchmark; each prints a table and writes machine-readable results.",
    subcommands = {BenchSplitCommand.class, PipelineBenchCommand.class, BenchVariantsCommand.class,
        BenchPlannerCommand.class, BenchAvailabilityCommand.class, BenchResponseTimeCommand.class, BenchPolicyCommand.class,
        BenchFluidCommand.class, BenchCodecsCommand.class, BenchTlsCommand.class,
        BenchHardeningCommand.class, BenchDataplaneCommand.class, BenchWidthParallelCommand.class})
public final class BenchCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
