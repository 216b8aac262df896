package dev.shoal.runtime.ensemble;

import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bookkeeping a fan-out backend keeps about its members: requests, degraded answers, and per
 * member how often it answered or was missing (also exported as {@link EnsembleMetrics}).
 */
final class MemberTally {

  private final String ensemble;
  private final String memberKind;
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong degraded = new AtomicLong();
  private final Map<String, AtomicLong> answered = new LinkedHashMap<>();
  private final Map<String, AtomicLong> missed = new LinkedHashMap<>();

  /** @param memberKind what the members are called in messages ("variant", "sub-model") */
  MemberTally(String ensemble, String memberKind, List<EnsembleMember> members) {
    this.ensemble = ensemble;
    this.memberKind = memberKind;
    for (EnsembleMember m : members) {
      answered.put(m.name(), new AtomicLong());
      missed.put(m.name(), new AtomicLong());
    }
  }

  void request() {
    requests.incrementAndGet();
  }

  long requests() {
    return requests.get();
  }

  long degraded() {
    return degraded.get();
  }

  long answered(String member) {
    return answered.get(member).get();
  }

  long missed(String member) {
    return missed.get(member).get();
  }

  /** One request's replies: which members answered usably, and why the others did not. */
  final class Replies {
    private final List<String> missing = new ArrayList<>();
    private int answeredCount;

    void answered(String member) {
      answeredCount++;
      answered.get(member).incrementAndGet();
      EnsembleMetrics.MEMBER_REPLIES.labelValues(ensemble, member, "answered").inc();
    }

    void missing(String member, String why) {
      missing.add(member + ": " + why);
      missed.get(member).incrementAndGet();
      EnsembleMetrics.MEMBER_REPLIES.labelValues(ensemble, member, "missing").inc();
    }

    int answeredCount() {
      return answeredCount;
    }

    /**
     * Whether the answer is degraded (some member missing).
     *
     * @throws InferenceException UNAVAILABLE when no member answered
     */
    boolean close() {
      if (answeredCount == 0) {
        throw new InferenceException(Kind.UNAVAILABLE,
            "no " + memberKind + " answered (" + String.join("; ", missing) + ")");
      }
      boolean isDegraded = !missing.isEmpty();
      if (isDegraded) {
        degraded.incrementAndGet();
        EnsembleMetrics.DEGRADED.labelValues(ensemble).inc();
      }
      return isDegraded;
    }
  }

  Replies replies() {
    return new Replies();
  }
}
