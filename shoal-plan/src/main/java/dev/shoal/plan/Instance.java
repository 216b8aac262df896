package dev.shoal.plan;

import java.util.ArrayList;
import java.util.List;

/**
 * A planner instance exactly as DESIGN.md pins it: layers in a fixed topological order, the
 * devices, link bandwidth (bytes/s) and latency (s) matrices, and the optional source device where
 * inputs arrive ({@code null} when the input is already on the first stage's device).
 */
public record Instance(
    List<Layer> layers,
    long inputBytes,
    List<DeviceSpec> devices,
    double[][] bandwidth,
    double[][] latency,
    Integer source) {

  /**
   * This instance on the devices at {@code kept} only, in that order: their per-layer times, links
   * and memory; the source keeps its role if kept, else there is none.
   */
  public Instance onDevices(int[] kept) {
    List<Layer> keptLayers = new ArrayList<>();
    for (Layer layer : layers) {
      double[] time = new double[kept.length];
      for (int i = 0; i < kept.length; i++) {
        time[i] = layer.time()[kept[i]];
      }
      keptLayers.add(new Layer(layer.name(), time, layer.paramBytes(), layer.workBytes(), layer.cutBytes()));
    }
    List<DeviceSpec> keptDevices = new ArrayList<>();
    double[][] keptBandwidth = new double[kept.length][kept.length];
    double[][] keptLatency = new double[kept.length][kept.length];
    Integer keptSource = null;
    for (int i = 0; i < kept.length; i++) {
      keptDevices.add(devices.get(kept[i]));
      if (source != null && source == kept[i]) {
        keptSource = i;
      }
      for (int j = 0; j < kept.length; j++) {
        keptBandwidth[i][j] = bandwidth[kept[i]][kept[j]];
        keptLatency[i][j] = latency[kept[i]][kept[j]];
      }
    }
    return new Instance(keptLayers, inputBytes, keptDevices, keptBandwidth, keptLatency, keptSource);
  }
}
