package dev.shoal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Default model paths are found in the installation when the working directory does not hold them. */
class InstalledPathTest {

  @TempDir Path home;

  @Test
  void aRelativePathMissingHereIsTakenFromTheInstallation() throws IOException {
    Path relative = Path.of("models", "fashion", "separable");
    Files.createDirectories(home.resolve(relative));
    assertThat(Path.of("models")).doesNotExist(); // the tests run in the module's directory
    assertThat(InstalledPath.resolve(relative, home.toString())).isEqualTo(home.resolve(relative));
  }

  @Test
  void anythingElseIsLeftAsGiven() throws IOException {
    Files.writeString(home.resolve("pom.xml"), "installed");
    // present in the working directory: the working directory's wins
    assertThat(InstalledPath.resolve(Path.of("pom.xml"), home.toString())).isEqualTo(Path.of("pom.xml"));
    // absent in both: left relative, to fail where it is read
    assertThat(InstalledPath.resolve(Path.of("no", "such"), home.toString())).isEqualTo(Path.of("no", "such"));
    // absolute, or no installation known
    assertThat(InstalledPath.resolve(Path.of("/no/such"), home.toString())).isEqualTo(Path.of("/no/such"));
    assertThat(InstalledPath.resolve(Path.of("models"), null)).isEqualTo(Path.of("models"));
  }

  @Test
  void benchPolicyFindsItsDefaultModelsThroughTheLauncherProperty() throws IOException {
    Path models = Files.createDirectories(home.resolve("models/fashion/separable"));
    String before = System.getProperty(InstalledPath.HOME_PROPERTY);
    System.setProperty(InstalledPath.HOME_PROPERTY, home.toString());
    try {
      BenchPolicyCommand command = new BenchPolicyCommand();
      new CommandLine(command).parseArgs();
      assertThat(command.models).isEqualTo(models);
    } finally {
      if (before == null) {
        System.clearProperty(InstalledPath.HOME_PROPERTY);
      } else {
        System.setProperty(InstalledPath.HOME_PROPERTY, before);
      }
    }
  }
}
