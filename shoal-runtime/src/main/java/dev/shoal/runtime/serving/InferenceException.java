package dev.shoal.runtime.serving;

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

  public Kind kind() {
    return kind;
  }
}
