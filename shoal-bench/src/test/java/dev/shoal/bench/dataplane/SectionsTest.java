package dev.shoal.bench.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which sections a {@code shoal bench dataplane} run makes, and the errors for a bad choice. */
class SectionsTest {

  private static DataplaneBench.Config config(Set<Character> sections) {
    return new DataplaneBench.Config(Path.of("out"), Path.of("models"), 96, 0.5, 4, 20, 1, 8, 20, null, 4, 10, 2, 0,
        sections);
  }

  @Test
  void runsExactlyTheChosenSections() {
    DataplaneBench.Config c = config(Set.of('a', 'c'));
    assertThat(DataplaneBench.ALL_SECTIONS.chars().filter(s -> c.runs((char) s))).containsExactlyInAnyOrder(
        (int) 'a', (int) 'c');
  }

  @Test
  void anUnknownSectionIsRefusedByName() {
    assertThatThrownBy(() -> config(Set.of('a', 'z'))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown section 'z'").hasMessageContaining(DataplaneBench.ALL_SECTIONS);
  }

  @Test
  void noSectionIsRefused() {
    assertThatThrownBy(() -> config(Set.of())).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no section");
  }
}
