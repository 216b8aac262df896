package dev.shoal.plan;

/** No valid plan exists; the message says why (memory, links) in one line. */
public class InfeasibleInstanceException extends RuntimeException {
  public InfeasibleInstanceException(String message) {
    super(message);
  }
}
