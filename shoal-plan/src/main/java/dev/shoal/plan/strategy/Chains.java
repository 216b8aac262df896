package dev.shoal.plan.strategy;

import dev.shoal.plan.graph.Edge;
import dev.shoal.plan.graph.Plan;
import dev.shoal.plan.graph.PlanBundle;
import dev.shoal.plan.graph.PlanException;
import dev.shoal.plan.graph.Port;
import dev.shoal.plan.graph.Predicted;
import dev.shoal.plan.graph.Stage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A chain of stage models as a plan graph: stage {@code s<i>} reads each input from the latest
 * earlier stage that outputs it (or from the request), and the last stage answers the response.
 */
public final class Chains {

  /** One link of a chain: its ONNX bytes, where it runs (several devices: replicas), and its figures. */
  public record Link(byte[] onnx, List<String> devices, double referenceSeconds, double predictedSeconds,
      String label) {}

  private Chains() {}

  public static PlanBundle of(String model, String planName, List<Link> links, String codec, Predicted predicted) {
    if (links.isEmpty()) {
      throw new PlanException("a chain needs at least one stage");
    }
    Map<String, byte[]> models = new LinkedHashMap<>();
    List<Stage> stages = new ArrayList<>();
    List<Edge> edges = new ArrayList<>();
    List<StageFiles.Signature> sigs = new ArrayList<>();
    for (int i = 0; i < links.size(); i++) {
      Link l = links.get(i);
      StageFiles.Signature sig = StageFiles.signature(l.onnx());
      sigs.add(sig);
      String id = "s" + i;
      stages.add(new Stage(id, StageFiles.add(models, model + "-" + planName + "-" + id + ".onnx", l.onnx()),
          l.devices(), false, sig.inputNames(), sig.outputNames(), null, l.referenceSeconds(), l.predictedSeconds(),
          l.label()));
      for (String in : sig.inputNames()) {
        Port from = null;
        for (int j = i - 1; j >= 0 && from == null; j--) {
          if (sigs.get(j).outputNames().contains(in)) {
            from = new Port("s" + j, in);
          }
        }
        if (from == null) {
          if (!sigs.get(0).inputNames().contains(in)) {
            throw new PlanException("chain stage " + i + " reads '" + in + "', which no earlier stage outputs");
          }
          from = new Port(Plan.REQUEST, in);
        }
        edges.add(new Edge(from, new Port(id, in), from.node().equals(Plan.REQUEST) ? "raw" : codec));
      }
    }
    StageFiles.Signature last = sigs.get(sigs.size() - 1);
    for (String out : last.outputNames()) {
      edges.add(new Edge(new Port("s" + (links.size() - 1), out), new Port(Plan.RESPONSE, out), "raw"));
    }
    Plan plan = new Plan(model, planName, sigs.get(0).inputs(), last.outputs(), stages, edges, List.of(), List.of(),
        predicted);
    return new PlanBundle(plan, models);
  }
}
