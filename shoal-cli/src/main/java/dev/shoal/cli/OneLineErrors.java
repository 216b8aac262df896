package dev.shoal.cli;

import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns an exception escaping a command into one line on stderr ({@code shoal <command>: <what>})
 * and exit status 1. {@code SHOAL_DEBUG=1} adds the stack trace.
 */
final class OneLineErrors implements IExecutionExceptionHandler {

  @Override
  public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
    String message = ex.getMessage();
    Throwable t = ex;
    while ((message == null || message.isBlank()) && t.getCause() != null) {
      t = t.getCause();
      message = t.getMessage();
    }
    if (message == null || message.isBlank()) {
      message = ex.getClass().getSimpleName();
    }
    int nl = message.indexOf('\n');
    cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + (nl < 0 ? message : message.substring(0, nl)));
    if (System.getenv("SHOAL_DEBUG") != null) {
      ex.printStackTrace(cmd.getErr());
    }
    return 1;
  }
}
