package dev.shoal.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.ITypeConverter;

/**
 * Reads a path option whose default lies in the installation (the committed models): a relative
 * path that does not exist from the working directory but does under the installation directory
 * ({@value #HOME_PROPERTY}, which the {@code shoal} launcher sets) is taken from there, so that
 * the benchmarks run from any directory. Anything else is left as given, and a path that exists
 * nowhere fails where it is read, saying where it was looked for.
 */
final class InstalledPath implements ITypeConverter<Path> {
  static final String HOME_PROPERTY = "shoal.home";

  @Override
  public Path convert(String value) {
    return resolve(Path.of(value), System.getProperty(HOME_PROPERTY));
  }

  static Path resolve(Path path, String home) {
    if (path.isAbsolute() || Files.exists(path) || home == null) {
      return path;
    }
    Path installed = Path.of(home).resolve(path);
    return Files.exists(installed) ? installed : path;
  }
}
