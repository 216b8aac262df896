package dev.shoal.runtime.wire;

import io.grpc.netty.shaded.io.netty.handler.codec.DecoderException;

/**
 * Bytes on a data connection that are not the protocol: a message longer than the limit, an
 * unknown kind, a body that does not parse, a message where another was due, or a connection that
 * ended inside a message. The connection is closed; nothing of it is delivered.
 */
public final class DataProtocolException extends DecoderException {
  public DataProtocolException(String message) {
    super(message);
  }

  public DataProtocolException(String message, Throwable cause) {
    super(message, cause);
  }
}
