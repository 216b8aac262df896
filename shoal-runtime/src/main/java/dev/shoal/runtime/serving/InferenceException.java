package dev.shoal.runtime.serving;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/** An inference failure with the kind that decides its HTTP status / gRPC code. */
public class InferenceException extends RuntimeException {

  public enum Kind {
    BAD_INPUT(400),
    NOT_FOUND(404),
    TOO_LARGE(413),
    UNAVAILABLE(503),
    DEADLINE(504),
    INTERNAL(500);

    public final int httpStatus;

    Kind(int httpStatus) {
      this.httpStatus = httpStatus;
    }
  }

  private final Kind kind;

  public InferenceException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public InferenceException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  /**
   * The inference failure behind what a future failed with: unwraps completion wrappers, keeps an
   * {@code InferenceException} as it is, and classifies the rest (timeout: DEADLINE, cancellation:
   * UNAVAILABLE, anything else: INTERNAL).
   */
  public static InferenceException of(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof InferenceException ie) {
      return ie;
    }
    if (t instanceof TimeoutException) {
      return new InferenceException(Kind.DEADLINE, "no answer in time", t);
    }
    if (t instanceof CancellationException) {
      return new InferenceException(Kind.UNAVAILABLE, "the inference was cancelled", t);
    }
    return new InferenceException(Kind.INTERNAL, "inference failed: " + t, t);
  }

  public Kind kind() {
    return kind;
  }
}
