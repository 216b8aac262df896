package dev.shoal.model.ort;

/** ONNX Runtime could not load or run a model; the message says what and where. */
public class OnnxRuntimeError extends RuntimeException {
  public OnnxRuntimeError(String message) {
    super(message);
  }

  public OnnxRuntimeError(String message, Throwable cause) {
    super(message, cause);
  }
}
