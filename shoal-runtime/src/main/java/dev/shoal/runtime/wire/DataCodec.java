package dev.shoal.runtime.wire;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import dev.shoal.runtime.wire.proto.Ack;
import dev.shoal.runtime.wire.proto.DataHello;
import dev.shoal.runtime.wire.proto.DataRefused;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.ResultsRequest;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.handler.codec.ByteToMessageCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The data plane's framing, both ways: a 4-byte big-endian length of the body, a 1-byte kind
 * ({@link DataMessage}) and the protobuf body. A body is serialised straight into the outgoing
 * buffer (the one copy of a payload on send) and parsed straight from the incoming one, which is
 * sized for the whole message as soon as its header is in.
 *
 * <p>A message whose body is longer than the limit is refused from its length alone, before any
 * of it is buffered; an unknown kind, a body that does not parse, or a connection that ends
 * inside a message raise a {@link DataProtocolException} naming what was wrong. After the first
 * error the decoder drops everything else the connection brings: nothing after garbage is
 * delivered.
 *
 * <p>With {@code aliasPayloads} a parsed message's {@code bytes} fields (a frame's payloads) are
 * views of the receive buffer, not copies: they are valid only until the handler's
 * {@code channelRead} returns, after which the buffer is reused. The worker's data port uses it,
 * because it decodes a frame's tensors before its {@code channelRead} returns; a receiver that
 * keeps the message (the coordinator's results link) must not.
 */
public final class DataCodec extends ByteToMessageCodec<DataMessage> {
  static final int HEADER_BYTES = 5;

  private final int maxBodyBytes;
  private final boolean aliasPayloads;
  /**
   * The receive bytes that this read's aliased messages view, held until they have been handled:
   * Netty's decoder releases (or compacts) its buffer before it hands on the last message of a read.
   */
  private final List<ByteBuf> viewed = new ArrayList<>();
  private boolean failed;

  /**
   * @param maxBodyBytes the longest body taken (a frame's payloads plus its header fields)
   * @param aliasPayloads parse payloads as views of the receive buffer (valid only during
   *     {@code channelRead}) instead of copies
   */
  public DataCodec(int maxBodyBytes, boolean aliasPayloads) {
    super(DataMessage.class);
    this.maxBodyBytes = maxBodyBytes;
    this.aliasPayloads = aliasPayloads;
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, DataMessage msg, ByteBuf out) throws IOException {
    int size = msg.body().getSerializedSize();
    out.ensureWritable(HEADER_BYTES + size);
    out.writeInt(size);
    out.writeByte(msg.kind());
    ByteBuffer target = out.nioBuffer(out.writerIndex(), size);
    CodedOutputStream coded = CodedOutputStream.newInstance(target);
    msg.body().writeTo(coded);
    coded.flush();
    out.writerIndex(out.writerIndex() + size);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (in.readableBytes() < HEADER_BYTES) {
      return;
    }
    int start = in.readerIndex();
    long size = in.getUnsignedInt(start);
    int kind = in.getByte(start + 4);
    if (kind < DataMessage.HELLO || kind > DataMessage.SUBSCRIBE) {
      throw fail("unknown message kind " + kind + " (a message of " + size + " bytes)");
    }
    if (size > maxBodyBytes) {
      throw fail("a " + DataMessage.kindName(kind) + " of " + size + " bytes, over the " + maxBodyBytes
          + "-byte limit");
    }
    if (in.readableBytes() < HEADER_BYTES + size) {
      // Make room for the whole message now: the bytes still to come are then appended once,
      // instead of the buffer being copied into one twice as large again and again as they arrive.
      if (in.refCnt() == 1 && !in.isReadOnly()) {
        in.ensureWritable((int) (HEADER_BYTES + size - in.readableBytes()));
      }
      return;
    }
    CodedInputStream coded;
    if (aliasPayloads) {
      ByteBuf held = in.retainedSlice(start + HEADER_BYTES, (int) size);
      viewed.add(held);
      // protobuf aliases only input it was told cannot change: a wrapped ByteString says so
      coded = UnsafeByteOperations.unsafeWrap(held.nioBuffer()).newCodedInput();
      coded.enableAliasing(true);
    } else {
      coded = CodedInputStream.newInstance(in.nioBuffer(start + HEADER_BYTES, (int) size));
    }
    in.skipBytes(HEADER_BYTES + (int) size);
    try {
      out.add(parse(kind, coded));
    } catch (InvalidProtocolBufferException e) {
      throw fail("a " + DataMessage.kindName(kind) + " of " + size + " bytes that does not parse: " + e.getMessage());
    }
  }

  /** Every message this read decoded has been handled once the decoder returns: their bytes may go. */
  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    try {
      super.channelRead(ctx, msg);
    } finally {
      releaseViewed();
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) throws Exception {
    releaseViewed();
    super.handlerRemoved(ctx);
  }

  private void releaseViewed() {
    viewed.forEach(ByteBuf::release);
    viewed.clear();
  }

  private static DataMessage parse(int kind, CodedInputStream body) throws InvalidProtocolBufferException {
    try {
      DataMessage m = switch (kind) {
        case DataMessage.HELLO -> new DataMessage.Hello(DataHello.parseFrom(body));
        case DataMessage.REFUSED -> new DataMessage.Refused(DataRefused.parseFrom(body));
        case DataMessage.FRAME -> new DataMessage.FrameMessage(Frame.parseFrom(body));
        case DataMessage.ACK -> new DataMessage.AckMessage(Ack.parseFrom(body));
        case DataMessage.SUBSCRIBE -> new DataMessage.Subscribe(ResultsRequest.parseFrom(body));
        default -> throw new IllegalStateException("kind " + kind + " passed the check");
      };
      body.checkLastTagWas(0);
      return m;
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (IOException e) {
      throw new InvalidProtocolBufferException(e);
    }
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    decode(ctx, in, out);
    if (!failed && in.isReadable()) {
      int have = in.readableBytes();
      String what = have < HEADER_BYTES ? have + " bytes of a message header"
          : have - HEADER_BYTES + " of " + in.getUnsignedInt(in.readerIndex()) + " bytes of a "
              + DataMessage.kindName(in.getByte(in.readerIndex() + 4));
      in.skipBytes(have);
      throw fail("the connection ended inside a message (" + what + ")");
    }
  }

  private DataProtocolException fail(String why) {
    failed = true;
    return new DataProtocolException(why);
  }
}
