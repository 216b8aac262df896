package dev.shoal.plan.graph;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.shoal.model.TensorSpec;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A plan graph: how one model is served. Requests enter at {@link #REQUEST} (the model's
 * {@code inputs}), flow along edges and exchanges through stages, and leave at {@link #RESPONSE}
 * (the model's {@code outputs}), each output made by exactly one edge or merge.
 *
 * @param model the served model's name (the API's model name)
 * @param name the plan's name among the model's plans (e.g. "pipeline", "high-accuracy")
 */
public record Plan(
    String model,
    String name,
    List<TensorSpec> inputs,
    List<TensorSpec> outputs,
    List<Stage> stages,
    List<Edge> edges,
    List<Exchange> exchanges,
    List<Merge> merges,
    Predicted predicted) {

  /** The node name of the request's inputs in a {@link Port}. */
  public static final String REQUEST = "request";
  /** The node name of the response's outputs in a {@link Port}. */
  public static final String RESPONSE = "response";

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  public Plan {
    inputs = copy(inputs);
    outputs = copy(outputs);
    stages = copy(stages);
    edges = copy(edges);
    exchanges = copy(exchanges);
    merges = copy(merges);
    predicted = predicted == null ? Predicted.UNKNOWN : predicted;
  }

  private static <T> List<T> copy(List<T> l) {
    return l == null ? List.of() : List.copyOf(l);
  }

  public Optional<Stage> stage(String id) {
    return stages.stream().filter(s -> s.id().equals(id)).findFirst();
  }

  /** Edges and exchanges: every tensor that travels between nodes. */
  @JsonIgnore
  public List<Edge> links() {
    List<Edge> all = new ArrayList<>(edges);
    exchanges.forEach(x -> all.add(x.asEdge()));
    return all;
  }

  /** Every device a stage runs on, in plan order. */
  @JsonIgnore
  public Set<String> devices() {
    Set<String> out = new LinkedHashSet<>();
    stages.forEach(s -> out.addAll(s.devices()));
    return out;
  }

  /** The same plan under another name. */
  public Plan named(String newName) {
    return new Plan(model, newName, inputs, outputs, stages, edges, exchanges, merges, predicted);
  }

  /** The same plan with its stages replaced (same ids, e.g. moved to other devices). */
  public Plan withStages(List<Stage> replaced) {
    return new Plan(model, name, inputs, outputs, replaced, edges, exchanges, merges, predicted);
  }

  /** The plan for people: each stage, where it runs and where its outputs go; merges; the prediction. */
  public String describe() {
    StringBuilder sb = new StringBuilder();
    for (Stage s : stages) {
      List<String> to = new ArrayList<>();
      for (Edge e : links()) {
        if (e.from().node().equals(s.id())) {
          String target = e.to().node().equals(RESPONSE) ? "response" : e.to().node();
          String item = target + (e.codec().equals("raw") || target.equals("response") ? "" : " (" + e.codec() + ")");
          if (!to.contains(item)) {
            to.add(item);
          }
        }
      }
      for (Merge m : merges) {
        if (m.members().stream().anyMatch(x -> x.stage().equals(s.id()))) {
          to.add("merge " + m.id());
        }
      }
      sb.append(String.format(java.util.Locale.ROOT, "  stage %-4s on %-14s %-28s -> %s%n", s.id(),
          String.join(",", s.devices()) + (s.optional() ? " (optional)" : ""), s.label(), String.join(", ", to)));
    }
    for (Merge m : merges) {
      sb.append(String.format(java.util.Locale.ROOT, "  merge %s: %s of %s%n", m.id(),
          m.rule().getClass().getSimpleName(), m.members().stream().map(Merge.Member::name).toList()));
    }
    if (!Double.isNaN(predicted.periodSeconds())) {
      sb.append(String.format(java.util.Locale.ROOT, "  predicted %.3f ms per request (%.1f inferences/s), latency %.3f ms%n",
          predicted.periodSeconds() * 1e3, predicted.throughput(), predicted.latencySeconds() * 1e3));
    }
    return sb.toString();
  }

  /**
   * Checks the plan is well formed: names, stage models, edges that join existing tensors, every
   * stage input and every response output fed exactly once, no cycle, optional stages feeding only
   * merges or other optional stages, merges that take what their rule needs.
   *
   * @return this plan
   * @throws PlanException naming the plan, the element and what is wrong with it
   */
  public Plan validate() {
    String where = "plan '" + name + "' of model '" + model + "'";
    need(model != null && !model.isBlank() && name != null && ID.matcher(name).matches(),
        "plan: model and plan names are required, the plan name letters, digits and _.:@- (got '" + name + "')");
    need(!inputs.isEmpty(), where + ": no inputs");
    need(!outputs.isEmpty(), where + ": no outputs");
    need(!stages.isEmpty(), where + ": no stages");
    Set<String> inputNames = names(inputs, where + ": input");
    Set<String> outputNames = names(outputs, where + ": output");
    Map<String, Stage> byId = new LinkedHashMap<>();
    for (Stage s : stages) {
      String at = where + ", stage '" + s.id() + "'";
      need(s.id() != null && ID.matcher(s.id()).matches() && !s.id().equals(REQUEST) && !s.id().equals(RESPONSE),
          where + ": stage id '" + s.id() + "' is not a valid id (letters, digits and _.:@-, not request/response)");
      need(byId.put(s.id(), s) == null, at + ": the id is used twice");
      need(s.model() != null && s.model().file() != null && !s.model().file().isBlank(), at + ": no model file");
      need(s.model().sha256() != null && SHA256.matcher(s.model().sha256()).matches(),
          at + ": model sha256 must be 64 lower-case hex digits, got '" + s.model().sha256() + "'");
      need(!s.devices().isEmpty(), at + ": placed on no device");
      need(new HashSet<>(s.devices()).size() == s.devices().size(), at + ": a device is named twice " + s.devices());
      need(!s.inputs().isEmpty() && new HashSet<>(s.inputs()).size() == s.inputs().size(),
          at + ": inputs must be given, each once: " + s.inputs());
      need(!s.outputs().isEmpty() && new HashSet<>(s.outputs()).size() == s.outputs().size(),
          at + ": outputs must be given, each once: " + s.outputs());
    }
    Set<String> mergeIds = new HashSet<>();
    for (Merge m : merges) {
      need(m.id() != null && ID.matcher(m.id()).matches() && !byId.containsKey(m.id()) && mergeIds.add(m.id()),
          where + ": merge id '" + m.id() + "' is invalid or used twice");
    }
    Map<Port, Integer> fed = new HashMap<>();
    Map<String, Set<String>> next = new HashMap<>();
    for (Edge e : links()) {
      String at = where + ", edge " + e.from() + " -> " + e.to();
      need(e.from() != null && e.to() != null, where + ": an edge without both ends");
      if (e.from().node().equals(REQUEST)) {
        need(inputNames.contains(e.from().tensor()), at + ": the request has no input '" + e.from().tensor() + "'");
      } else {
        Stage from = byId.get(e.from().node());
        need(from != null, at + ": no stage '" + e.from().node() + "'");
        need(from.outputs().contains(e.from().tensor()),
            at + ": stage '" + from.id() + "' has no output '" + e.from().tensor() + "' (it has " + from.outputs() + ")");
      }
      if (e.to().node().equals(RESPONSE)) {
        need(outputNames.contains(e.to().tensor()), at + ": the response has no output '" + e.to().tensor() + "'");
      } else {
        Stage to = byId.get(e.to().node());
        need(to != null, at + ": no stage '" + e.to().node() + "'");
        need(to.inputs().contains(e.to().tensor()),
            at + ": stage '" + to.id() + "' has no input '" + e.to().tensor() + "' (it has " + to.inputs() + ")");
        need(!e.from().node().equals(e.to().node()), at + ": a stage feeds itself");
        if (!e.from().node().equals(REQUEST)) {
          Stage from = byId.get(e.from().node());
          need(!from.optional() || to.optional(), at + ": optional stage '" + from.id()
              + "' feeds required stage '" + to.id() + "' (an optional stage may feed only merges and optional stages)");
          next.computeIfAbsent(from.id(), k -> new LinkedHashSet<>()).add(to.id());
        }
      }
      fed.merge(e.to(), 1, Integer::sum);
      if (e.to().node().equals(RESPONSE) && !e.from().node().equals(REQUEST)) {
        need(!byId.get(e.from().node()).optional(), at + ": optional stage '" + e.from().node()
            + "' answers the response directly (an optional stage may feed only merges and optional stages)");
      }
    }
    for (Stage s : stages) {
      for (String in : s.inputs()) {
        int n = fed.getOrDefault(new Port(s.id(), in), 0);
        need(n == 1, where + ", stage '" + s.id() + "': input '" + in + "' is fed by " + n + " edges (exactly 1 needed)");
      }
    }
    Set<String> mergeOutputs = new HashSet<>();
    for (Merge m : merges) {
      String at = where + ", merge '" + m.id() + "'";
      need(m.rule() != null, at + ": no rule");
      need(!m.members().isEmpty(), at + ": no members");
      need(m.waitMillis() >= 0, at + ": waitMillis must be >= 0");
      Set<String> memberNames = new HashSet<>();
      List<Integer> classes = new ArrayList<>();
      for (Merge.Member member : m.members()) {
        String mat = at + ", member '" + member.name() + "'";
        need(member.name() != null && memberNames.add(member.name()), at + ": member name '" + member.name()
            + "' missing or used twice");
        Stage s = byId.get(member.stage());
        need(s != null, mat + ": no stage '" + member.stage() + "'");
        need(member.tensors().keySet().equals(new HashSet<>(m.rule().roles())),
            mat + ": takes " + member.tensors().keySet() + ", the rule needs exactly " + m.rule().roles());
        for (String t : member.tensors().values()) {
          need(s.outputs().contains(t), mat + ": stage '" + s.id() + "' has no output '" + t + "'");
        }
        need(member.weight() >= 0 && Double.isFinite(member.weight()), mat + ": weight must be finite and >= 0");
        classes.addAll(member.classes());
      }
      if (m.rule() instanceof MergeRule.ClassConcat cc) {
        List<Integer> sorted = classes.stream().sorted().toList();
        List<Integer> all = java.util.stream.IntStream.range(0, cc.numClasses()).boxed().toList();
        need(sorted.equals(all), at + ": the members' classes must cover 0.." + (cc.numClasses() - 1)
            + " once each, they are " + sorted);
      }
      for (TensorSpec out : m.rule().outputs()) {
        need(outputNames.contains(out.name()), at + ": its output '" + out.name() + "' is not an output of the plan");
        need(mergeOutputs.add(out.name()), at + ": output '" + out.name() + "' is made by two merges");
        need(fed.getOrDefault(new Port(RESPONSE, out.name()), 0) == 0,
            at + ": output '" + out.name() + "' is also fed by an edge");
      }
    }
    for (TensorSpec out : outputs) {
      int n = fed.getOrDefault(new Port(RESPONSE, out.name()), 0) + (mergeOutputs.contains(out.name()) ? 1 : 0);
      need(n == 1, where + ": response output '" + out.name() + "' is made " + n + " times (exactly 1 needed)");
    }
    for (TensorSpec in : inputs) {
      need(links().stream().anyMatch(e -> e.from().equals(new Port(REQUEST, in.name()))),
          where + ": request input '" + in.name() + "' is used by no stage");
    }
    checkAcyclic(byId.keySet(), next, where);
    return this;
  }

  /** Checks every stage runs on a device of {@code known}. */
  public Plan validateDevices(Collection<String> known) {
    for (Stage s : stages) {
      for (String d : s.devices()) {
        need(known.contains(d), "plan '" + name + "', stage '" + s.id() + "': device '" + d
            + "' is not in the cluster (it has " + known + ")");
      }
    }
    return this;
  }

  /** Stage ids in an order where every stage comes after the stages that feed it. */
  @JsonIgnore
  public List<String> topologicalOrder() {
    Map<String, Set<String>> next = new HashMap<>();
    for (Edge e : links()) {
      if (!e.from().node().equals(REQUEST) && !e.to().node().equals(RESPONSE)) {
        next.computeIfAbsent(e.from().node(), k -> new LinkedHashSet<>()).add(e.to().node());
      }
    }
    return checkAcyclic(stages.stream().map(Stage::id).toList(), next, "plan '" + name + "'");
  }

  private static List<String> checkAcyclic(Collection<String> ids, Map<String, Set<String>> next, String where) {
    Map<String, Integer> indegree = new LinkedHashMap<>();
    ids.forEach(id -> indegree.put(id, 0));
    next.values().forEach(targets -> targets.forEach(t -> indegree.merge(t, 1, Integer::sum)));
    Deque<String> ready = new ArrayDeque<>();
    indegree.forEach((id, d) -> {
      if (d == 0) {
        ready.add(id);
      }
    });
    List<String> order = new ArrayList<>();
    while (!ready.isEmpty()) {
      String id = ready.poll();
      order.add(id);
      for (String t : next.getOrDefault(id, Set.of())) {
        if (indegree.merge(t, -1, Integer::sum) == 0) {
          ready.add(t);
        }
      }
    }
    if (order.size() != indegree.size()) {
      List<String> inCycle = indegree.keySet().stream().filter(id -> !order.contains(id)).toList();
      throw new PlanException(where + ": the stages " + inCycle + " form a cycle");
    }
    return order;
  }

  private static Set<String> names(List<TensorSpec> specs, String what) {
    Set<String> out = new LinkedHashSet<>();
    for (TensorSpec t : specs) {
      need(t.name() != null && !t.name().isEmpty() && out.add(t.name()), what + " '" + t.name() + "' is unnamed or named twice");
    }
    return out;
  }

  private static void need(boolean ok, String message) {
    if (!ok) {
      throw new PlanException(message);
    }
  }
}
