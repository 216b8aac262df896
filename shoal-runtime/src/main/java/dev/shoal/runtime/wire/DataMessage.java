package dev.shoal.runtime.wire;

import com.google.protobuf.MessageLite;
import dev.shoal.runtime.wire.proto.Ack;
import dev.shoal.runtime.wire.proto.DataHello;
import dev.shoal.runtime.wire.proto.DataRefused;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.ResultsRequest;

/**
 * One message of the data plane's framed transport ({@link DataCodec}): its kind byte on the wire
 * and its protobuf body.
 */
public sealed interface DataMessage {
  byte HELLO = 1;
  byte REFUSED = 2;
  byte FRAME = 3;
  byte ACK = 4;
  byte SUBSCRIBE = 5;

  /** The kind byte written before the body. */
  byte kind();

  MessageLite body();

  /** For errors and logs: the kind's name. */
  static String kindName(int kind) {
    return switch (kind) {
      case HELLO -> "hello";
      case REFUSED -> "refusal";
      case FRAME -> "frame";
      case ACK -> "ack";
      case SUBSCRIBE -> "results request";
      default -> "unknown kind " + kind;
    };
  }

  /** The first message on a connection: what it is for, and a coordinator's lease session. */
  record Hello(DataHello body) implements DataMessage {
    @Override
    public byte kind() {
      return HELLO;
    }
  }

  /** The receiver's answer to a hello it does not allow; it closes the connection after it. */
  record Refused(DataRefused body) implements DataMessage {
    @Override
    public byte kind() {
      return REFUSED;
    }
  }

  /** A frame for a stage, or a result for the coordinator. */
  record FrameMessage(Frame body) implements DataMessage {
    @Override
    public byte kind() {
      return FRAME;
    }
  }

  /** A receiver's word on a frame it rejected. */
  record AckMessage(Ack body) implements DataMessage {
    @Override
    public byte kind() {
      return ACK;
    }
  }

  /** A coordinator subscribing to one epoch's results on a results connection. */
  record Subscribe(ResultsRequest body) implements DataMessage {
    @Override
    public byte kind() {
      return SUBSCRIBE;
    }
  }
}
