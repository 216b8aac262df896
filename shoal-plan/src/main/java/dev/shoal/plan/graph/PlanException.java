package dev.shoal.plan.graph;

/** A plan that cannot run as given: the message says what is wrong and where. */
public final class PlanException extends IllegalArgumentException {
  public PlanException(String message) {
    super(message);
  }
}
