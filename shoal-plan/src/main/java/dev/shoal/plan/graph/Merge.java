package dev.shoal.plan.graph;

import java.util.List;
import java.util.Map;

/**
 * Several members' answers combined into the response by a {@link MergeRule}. Merges run where
 * the response is made (the coordinator), so a merge's outputs are outputs of the plan. A merge
 * answers when every member still alive has answered, when {@code waitMillis} have passed since
 * the request arrived (0: no limit of its own), or at the request's deadline, from the members that
 * answered by then; with none it fails.
 */
public record Merge(String id, MergeRule rule, List<Member> members, long waitMillis) {

  public Merge {
    members = members == null ? List.of() : List.copyOf(members);
  }

  /**
   * One member: the stage whose outputs it takes ({@code tensors}: rule role -> stage output), its
   * weight, and for class concatenation the classes its scores stand for, in column order.
   */
  public record Member(String name, String stage, Map<String, String> tensors, double weight, List<Integer> classes) {
    public Member {
      tensors = tensors == null ? Map.of() : Map.copyOf(tensors);
      classes = classes == null ? List.of() : List.copyOf(classes);
    }
  }
}
