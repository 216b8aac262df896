package dev.shoal.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code shoal} command: every sub-command is registered here. */
@Command(
    name = "shoal",
    mixinStandardHelpOptions = true,
    version = "shoal 0.1.0",
    description = "Distributed DNN inference across clusters of small edge devices.",
    subcommands = {CommandLine.HelpCommand.class, BenchCommand.class, ProfileCommand.class,
        SplitCommand.class, PlanCommand.class, RunCommand.class, DemoCommand.class, WorkerCommand.class,
        CertsCommand.class, TrainCommand.class, ServeCommand.class, KeysCommand.class, AdminCommand.class})
public final class ShoalCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line (errors as one line, exit status 1), for main and tests. */
  static CommandLine commandLine() {
    return new CommandLine(new ShoalCli()).setExecutionExceptionHandler(new OneLineErrors());
  }
}
