package dev.shoal.train.separable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.shoal.train.separable.PolicySearch.Candidate;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The searches on a synthetic score (no network): budgets, fronts, the byte limit. */
class PolicySearchTest {

  private final SeparableArchitecture arch = SeparableArchitecture.fashion(4, 28, 28, 10);
  private final PolicySpace space = new PolicySpace(arch, List.of(LinkCodec.values()));
  private final long maxBytes = TransmissionPolicy.baseline(arch).bytes(arch) / 10;

  /** More channels sent, and sent later, score higher; coarser codecs lose a little. */
  private static double score(TransmissionPolicy p) {
    double s = 0.5;
    for (int i = 0; i < p.points().size(); i++) {
      ExchangePoint e = p.points().get(i);
      if (e.exchange()) {
        s += 0.02 * (i + 1) * e.eighths() / 8.0 - (e.codec() == LinkCodec.INT4 ? 0.01 : 0);
      }
    }
    return s;
  }

  @Test
  void bothSearchesSpendExactlyTheirBudgetOnDistinctPolicies() {
    for (PolicySearch.Result r :
        List.of(
            PolicySearch.evolution(space, 50, 1, maxBytes, PolicySearchTest::score, line -> {}),
            PolicySearch.random(space, 50, 1, maxBytes, PolicySearchTest::score, line -> {}))) {
      assertThat(r.evaluated()).hasSize(50);
      assertThat(new HashSet<>(r.evaluated().stream().map(Candidate::policy).toList())).hasSize(50);
      for (Candidate c : r.evaluated()) {
        assertThat(c.bytes()).isEqualTo(c.policy().bytes(arch));
      }
      for (Candidate a : r.front()) {
        assertThat(r.evaluated()).noneMatch(b -> b.dominates(a));
      }
      r.best().ifPresent(b -> assertThat(b.bytes()).isLessThanOrEqualTo(maxBytes));
      assertThat(r.best()).isPresent();
      Candidate best = r.best().orElseThrow();
      assertThat(r.evaluated()).filteredOn(c -> c.bytes() <= maxBytes).allMatch(c -> c.accuracy() <= best.accuracy());
    }
  }

  @Test
  void evolutionKeepsItsPopulationWithinTheLimit() {
    PolicySearch.Result r = PolicySearch.evolution(space, 80, 2, maxBytes, PolicySearchTest::score, line -> {});
    // after the random start, children come from parents ranked with the limit first
    long late = r.evaluated().stream().skip(40).filter(c -> c.bytes() <= maxBytes).count();
    long early = r.evaluated().stream().limit(16).filter(c -> c.bytes() <= maxBytes).count();
    assertThat(late / 40.0).isGreaterThan(early / 16.0);
  }

  @Test
  void hypervolumeIsTheAreaUnderTheFrontStaircase() {
    long base = 1000;
    TransmissionPolicy none = TransmissionPolicy.none(arch);
    TransmissionPolicy all = TransmissionPolicy.baseline(arch);
    List<Candidate> front = List.of(new Candidate(none, 0, 0.5, 1), new Candidate(all, 500, 0.8, 2));
    // [0, 0.5) at 0.5, [0.5, 1) at 0.8
    assertThat(PolicySearch.hypervolume(front, base)).isCloseTo(0.5 * 0.5 + 0.5 * 0.8, within(1e-12));
  }
}
