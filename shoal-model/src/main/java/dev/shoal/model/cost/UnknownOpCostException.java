package dev.shoal.model.cost;

import dev.shoal.model.ModelFormatException;

/** A node whose op has no cost rule in {@link CostModel}, met while unknown ops are rejected. */
public final class UnknownOpCostException extends ModelFormatException {
  public UnknownOpCostException(String message) {
    super(message);
  }
}
