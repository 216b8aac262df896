package dev.shoal.runtime.coordinator;

import dev.shoal.plan.graph.Merge;
import dev.shoal.plan.graph.MergeRule;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Where a request of a {@link MergeRule.Routed} merge goes: to the one member whose device has the
 * fewest of this coordinator's requests in flight (its queue), ties dealt round robin by request
 * id (so that one request at a time still spreads over the devices). Counts live per device, across plans and epochs, from the moment a request is sent to a
 * member until it is answered, fails or is routed elsewhere.
 */
final class RequestRouter {

  private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();

  /**
   * The member of {@code merge} to send a request to, among those not in {@code excluded} (lost,
   * or already tried for this request); null when none is left. Counts the request against the
   * chosen member's device. Ties go to the first in the merge's order starting at {@code requestId}
   * modulo the members.
   *
   * @param deviceOf the device (worker name) a member's stage runs on
   */
  synchronized String choose(Merge merge, long requestId, Set<String> excluded, Function<String, String> deviceOf) {
    String best = null;
    int fewest = Integer.MAX_VALUE;
    int members = merge.members().size();
    for (int i = 0; i < members; i++) {
      Merge.Member m = merge.members().get((int) Math.floorMod(requestId + i, (long) members));
      if (excluded.contains(m.stage())) {
        continue;
      }
      int n = count(deviceOf.apply(m.stage())).get();
      if (n < fewest) {
        fewest = n;
        best = m.stage();
      }
    }
    if (best != null) {
      count(deviceOf.apply(best)).incrementAndGet();
    }
    return best;
  }

  /** The requests sent to these devices are answered, failed or moved elsewhere. */
  void release(List<String> devices) {
    devices.forEach(d -> count(d).decrementAndGet());
  }

  /** Requests in flight on a device's routed members now. */
  int inFlight(String device) {
    return count(device).get();
  }

  private AtomicInteger count(String device) {
    return inFlight.computeIfAbsent(device, k -> new AtomicInteger());
  }
}
