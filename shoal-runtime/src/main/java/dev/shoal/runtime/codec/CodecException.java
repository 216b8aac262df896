package dev.shoal.runtime.codec;

/** A payload that does not decode to the tensor its frame declares. */
public class CodecException extends RuntimeException {
  public CodecException(String message) {
    super(message);
  }
}
