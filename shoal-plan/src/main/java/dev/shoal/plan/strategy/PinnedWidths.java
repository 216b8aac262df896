package dev.shoal.plan.strategy;

import dev.shoal.plan.InfeasibleInstanceException;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.PlanProducer;
import java.util.List;

/**
 * The baselines of a Fluid network as the paper deploys them: each width of the network has its
 * weights on a fixed set of devices and runs only while all of them are up. Static is one width
 * on all G devices (any failure stops it); Dynamic (slimmable) has width k/G on devices 1..k, so it
 * falls back to the widest width whose devices are all up, and stops when device 1 is down. Each
 * width is planned over its devices by its own producer (the pipeline planner here). Unlike a plain
 * pipeline, nothing moves to a surviving device: that device does not hold the lost weights.
 */
public final class PinnedWidths implements PlanProducer {

  /** One width: the devices that hold its weights, and how it is planned on them. */
  public record Width(List<String> devices, PlanProducer producer) {
    public Width {
      devices = List.copyOf(devices);
    }
  }

  private final String name;
  private final List<Width> widest;

  /** @param widestFirst the widths, widest (preferred) first */
  public PinnedWidths(String name, List<Width> widestFirst) {
    if (widestFirst.isEmpty()) {
      throw new IllegalArgumentException("'" + name + "' needs at least one width");
    }
    this.name = name;
    this.widest = List.copyOf(widestFirst);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public PlanBundle plan(List<String> liveDevices) {
    for (Width w : widest) {
      if (liveDevices.containsAll(w.devices())) {
        PlanBundle b = w.producer().plan(w.devices());
        return b.with(b.plan().named(name));
      }
    }
    throw new InfeasibleInstanceException("'" + name + "' runs only with all devices of one of its widths up "
        + widest.stream().map(Width::devices).toList() + "; live: " + liveDevices);
  }
}
