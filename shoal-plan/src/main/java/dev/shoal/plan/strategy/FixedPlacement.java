package dev.shoal.plan.strategy;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.PlanProducer;
import dev.shoal.plan.graph.Predicted;
import dev.shoal.plan.graph.Stage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A plan made in advance (a written plan, a fixed split): its stages stay as they are; a stage
 * whose devices are all down moves to a live device that runs nothing yet, or else to the live
 * device with the fewest stages; a replicated stage keeps its live replicas. Re-placement always
 * starts from the original plan, so when a device comes back its stages return to it.
 */
public final class FixedPlacement implements PlanProducer {

  private final PlanBundle original;

  public FixedPlacement(PlanBundle original) {
    this.original = original;
  }

  /**
   * A chain of stage models placed on {@code devices} in order (stage i on device i); used where no
   * cost model is wanted (transport benchmarks, tests of the runtime itself).
   *
   * @param referenceSeconds each stage's compute on the reference host (0: unknown)
   */
  public static FixedPlacement chain(String model, List<byte[]> stageModels, List<String> devices, String codec,
      double[] referenceSeconds) {
    return chain(model, "fixed", stageModels, devices, codec, referenceSeconds);
  }

  /** The same, as the plan named {@code planName} (a model may have several plans). */
  public static FixedPlacement chain(String model, String planName, List<byte[]> stageModels, List<String> devices,
      String codec, double[] referenceSeconds) {
    if (devices.size() < stageModels.size()) {
      throw new InfeasibleInstanceException("the fixed split has " + stageModels.size() + " stages, only "
          + devices.size() + " devices are given");
    }
    List<Chains.Link> links = new ArrayList<>();
    for (int i = 0; i < stageModels.size(); i++) {
      links.add(new Chains.Link(stageModels.get(i), List.of(devices.get(i)), referenceSeconds[i], Double.NaN,
          "fixed part " + (i + 1) + "/" + stageModels.size()));
    }
    return new FixedPlacement(Chains.of(model, planName, links, codec, Predicted.UNKNOWN));
  }

  @Override
  public String name() {
    return original.plan().name();
  }

  public PlanBundle original() {
    return original;
  }

  @Override
  public PlanBundle plan(List<String> liveDevices) {
    if (liveDevices.isEmpty()) {
      throw new InfeasibleInstanceException("no live devices");
    }
    Map<String, Integer> load = new HashMap<>();
    liveDevices.forEach(d -> load.put(d, 0));
    List<Stage> kept = new ArrayList<>();
    for (Stage s : original.plan().stages()) {
      List<String> live = s.devices().stream().filter(liveDevices::contains).toList();
      kept.add(live.isEmpty() ? null : s.onDevices(live));
      live.forEach(d -> load.merge(d, 1, Integer::sum));
    }
    List<Stage> placed = new ArrayList<>();
    for (int i = 0; i < kept.size(); i++) {
      Stage s = kept.get(i);
      if (s == null) {
        String to = liveDevices.get(0);
        for (String d : liveDevices) {
          if (load.get(d) < load.get(to)) {
            to = d;
          }
        }
        load.merge(to, 1, Integer::sum);
        s = original.plan().stages().get(i).onDevices(List.of(to));
      }
      placed.add(s);
    }
    return original.with(original.plan().withStages(placed));
  }
}
