package dev.shoal.cli;

import dev.shoal.runtime.gateway.ApiKeys;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal keys}: API keys for the gateway. */
@Command(
    name = "keys",
    mixinStandardHelpOptions = true,
    description = "API keys for `shoal serve --api-keys FILE`.",
    subcommands = KeysCommand.Add.class)
public final class KeysCommand implements Runnable {

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** {@code shoal keys add}: a new key; its token is printed once, only its hash is stored. */
  @Command(
      name = "add",
      mixinStandardHelpOptions = true,
      description = {
        "Make a new API key: append its name and the SHA-256 of its token to the keys file (created",
        "readable by its owner only) and print the token once. Clients send it as",
        "'Authorization: Bearer <token>' (REST) or 'authorization' metadata (gRPC). The file holds no",
        "token: a lost token cannot be recovered, add a new key."
      })
  static final class Add implements Callable<Integer> {

    @Option(names = "--name", required = true, description = "who the key is for (letters, digits, . _ -)")
    String name;

    @Option(names = "--out", defaultValue = "keys.txt", description = "the keys file (default: ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() {
      String token = ApiKeys.add(out, name);
      System.err.println("added key '" + name + "' to " + out + "; its token (shown only now):");
      System.out.println(token);
      return 0;
    }
  }
}
