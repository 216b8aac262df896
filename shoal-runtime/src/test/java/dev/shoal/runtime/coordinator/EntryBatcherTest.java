package dev.shoal.runtime.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.plan.graph.Batching;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;

/** Triton's dynamic batching rules, as {@link EntryBatcher} applies them. */
class EntryBatcherTest {
  private static final Batching PREFERRED = new Batching(8, List.of(4, 8), 1_000);
  private static final Batching MAX_ONLY = new Batching(4, List.of(), 1_000);

  @Test
  void aPreferredSizeLeavesAtOnceTheLargestOneFirst() {
    assertThat(EntryBatcher.batchNow(List.of(1, 1, 1), false, PREFERRED)).isZero();
    assertThat(EntryBatcher.batchNow(List.of(1, 1, 1, 1), false, PREFERRED)).isEqualTo(4);
    assertThat(EntryBatcher.batchNow(List.of(1, 1, 1, 1, 1), false, PREFERRED)).isEqualTo(4);
    assertThat(EntryBatcher.batchNow(List.of(2, 2, 2, 2, 1), false, PREFERRED)).isEqualTo(4);
    assertThat(EntryBatcher.batchNow(List.of(3, 3), false, PREFERRED)).isZero();
  }

  @Test
  void withoutPreferredSizesTheMaxIsTheOneToWaitFor() {
    assertThat(EntryBatcher.batchNow(List.of(1, 2), false, MAX_ONLY)).isZero();
    assertThat(EntryBatcher.batchNow(List.of(1, 2, 1), false, MAX_ONLY)).isEqualTo(3);
  }

  @Test
  void aBatchThatCannotGrowLeavesAtOnceAndTheDelayReleasesWhatThereIs() {
    assertThat(EntryBatcher.batchNow(List.of(3, 3, 3), false, PREFERRED)).isEqualTo(2); // 6, and 9 > 8
    assertThat(EntryBatcher.batchNow(List.of(3, 3, 1), false, PREFERRED)).isZero(); // 7 may still grow to 8
    assertThat(EntryBatcher.batchNow(List.of(1), true, PREFERRED)).isEqualTo(1);
    assertThat(EntryBatcher.batchNow(List.of(3, 2), true, PREFERRED)).isEqualTo(2);
  }

  @Test
  void queuedRequestsShareABatchOnlyWithTheirOwnShapeAndDeadOnesAreDropped() throws Exception {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    try {
      List<List<String>> sent = new ArrayList<>();
      EntryBatcher<String> b = new EntryBatcher<>(new Batching(2, List.of(), 10_000_000), timer,
          s -> !s.startsWith("dead"), batch -> sent.add(List.copyOf(batch)));
      b.offer("a1", 1, "[28]");
      b.offer("b1", 1, "[32]");
      b.offer("dead", 1, "[28]");
      assertThat(sent).isEmpty();
      b.offer("a2", 1, "[28]");
      assertThat(sent).containsExactly(List.of("a1", "a2"));
      b.offer("b2", 1, "[32]");
      assertThat(sent).containsExactly(List.of("a1", "a2"), List.of("b1", "b2"));
      assertThatThrownBy(() -> b.offer("big", 3, "[28]")).hasMessageContaining("3 rows");
    } finally {
      timer.shutdownNow();
    }
  }

  @Test
  void aLoneRequestWaitsTheMaxQueueDelayThenLeaves() throws Exception {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    try {
      List<Long> sentAfter = new ArrayList<>();
      long start = System.nanoTime();
      EntryBatcher<String> b = new EntryBatcher<>(new Batching(4, List.of(), 50_000), timer, s -> true,
          batch -> {
            synchronized (sentAfter) {
              sentAfter.add(System.nanoTime() - start);
              sentAfter.notifyAll();
            }
          });
      b.offer("alone", 1, "");
      synchronized (sentAfter) {
        while (sentAfter.isEmpty()) {
          sentAfter.wait(5_000);
        }
      }
      // it waited for company, and not much longer than the delay (a scheduler thread on a busy host)
      assertThat(sentAfter.get(0)).isBetween(50_000_000L, 2_050_000_000L);
    } finally {
      timer.shutdownNow();
    }
  }
}
