package dev.shoal.runtime.wire;

/** A frame that is malformed, corrupted (checksum) or not what the receiver expects. */
public class FrameException extends RuntimeException {
  public FrameException(String message) {
    super(message);
  }
}
