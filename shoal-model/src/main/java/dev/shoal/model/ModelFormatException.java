package dev.shoal.model;

/**
 * A model file or graph Shoal cannot use: not ONNX, truncated, inconsistent, or using something
 * Shoal does not support. The message is one line naming the problem and where it is.
 */
public class ModelFormatException extends RuntimeException {
  public ModelFormatException(String message) {
    super(message);
  }

  public ModelFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
