package dev.shoal.runtime.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.TensorData;
import dev.shoal.runtime.codec.TensorCodec;
import dev.shoal.runtime.wire.proto.Ack;
import dev.shoal.runtime.wire.proto.DataHello;
import dev.shoal.runtime.wire.proto.DataRefused;
import dev.shoal.runtime.wire.proto.Frame;
import dev.shoal.runtime.wire.proto.ResultsRequest;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The data plane's framing on an in-memory channel: every kind both ways, and what is not the protocol. */
class DataCodecTest {
  private static final int LIMIT = 64 << 10;

  private static Frame frame(long id, int floats) {
    float[] v = new float[floats];
    for (int i = 0; i < floats; i++) {
      v[i] = i * 0.25f - 3;
    }
    return Frames.encode(id, 7, "s1", "s0", 123_456, List.of(TensorData.ofFloats("x", new long[] {1, floats}, v)),
        TensorCodec.parse("raw"));
  }

  private static List<DataMessage> everyKind() {
    return List.of(
        new DataMessage.Hello(DataHello.newBuilder().setPurpose(DataHello.Purpose.RESULTS).setSession("ab12").build()),
        new DataMessage.Refused(DataRefused.newBuilder().setReason("not the lease holder").build()),
        new DataMessage.FrameMessage(frame(42, 1000)),
        new DataMessage.AckMessage(Ack.newBuilder().setRequestId(42).setError("no such stage").build()),
        new DataMessage.Subscribe(ResultsRequest.newBuilder().setPlanEpoch(99).build()));
  }

  /** Encodes on one channel, returns the bytes. */
  private static ByteBuf encode(List<DataMessage> messages) {
    EmbeddedChannel out = new EmbeddedChannel(new DataCodec(LIMIT, false));
    messages.forEach(out::writeOutbound);
    ByteBuf all = Unpooled.buffer();
    for (ByteBuf b; (b = out.readOutbound()) != null; ) {
      all.writeBytes(b);
      b.release();
    }
    out.finishAndReleaseAll();
    return all;
  }

  private static List<Object> decode(EmbeddedChannel in) {
    List<Object> got = new ArrayList<>();
    for (Object m; (m = in.readInbound()) != null; ) {
      got.add(m);
    }
    return got;
  }

  @Test
  void everyKindRoundTripsEvenWhenTheBytesArriveOneAtATime() {
    List<DataMessage> sent = everyKind();
    ByteBuf bytes = encode(sent);
    EmbeddedChannel whole = new EmbeddedChannel(new DataCodec(LIMIT, false));
    whole.writeInbound(bytes.copy());
    assertThat(decode(whole)).isEqualTo(sent);
    assertThat(whole.finish()).isFalse();

    EmbeddedChannel dribble = new EmbeddedChannel(new DataCodec(LIMIT, false));
    while (bytes.isReadable()) {
      dribble.writeInbound(bytes.readRetainedSlice(1));
    }
    assertThat(decode(dribble)).isEqualTo(sent);
    DataMessage.FrameMessage f = (DataMessage.FrameMessage) sent.get(2);
    assertThat(Frames.decode(f.body(), LIMIT)).isEqualTo(Frames.decode(frame(42, 1000), LIMIT));
    bytes.release();
  }

  @Test
  void theWireFormatIsLengthKindBody() {
    DataMessage.Subscribe s = new DataMessage.Subscribe(ResultsRequest.newBuilder().setPlanEpoch(5).build());
    ByteBuf b = encode(List.of(s));
    byte[] body = s.body().toByteArray();
    assertThat(b.readInt()).isEqualTo(body.length);
    assertThat(b.readByte()).isEqualTo(DataMessage.SUBSCRIBE);
    byte[] rest = new byte[b.readableBytes()];
    b.readBytes(rest);
    assertThat(rest).isEqualTo(body);
  }

  @Test
  void aMessageOverTheLimitIsRefusedFromItsLengthAlone() {
    EmbeddedChannel in = new EmbeddedChannel(new DataCodec(LIMIT, false));
    ByteBuf header = Unpooled.buffer().writeInt(LIMIT + 1).writeByte(DataMessage.FRAME);
    assertThatThrownBy(() -> in.writeInbound(header)).isInstanceOf(DataProtocolException.class)
        .hasMessageContaining("frame of " + (LIMIT + 1) + " bytes, over the " + LIMIT + "-byte limit");
    // whatever follows is dropped, even a good message
    in.writeInbound(encode(everyKind()));
    assertThat(decode(in)).isEmpty();
  }

  @Test
  void anUnknownKindIsAnError() {
    EmbeddedChannel in = new EmbeddedChannel(new DataCodec(LIMIT, false));
    ByteBuf b = Unpooled.buffer().writeInt(3).writeByte(9).writeBytes(new byte[3]);
    assertThatThrownBy(() -> in.writeInbound(b)).isInstanceOf(DataProtocolException.class)
        .hasMessageContaining("unknown message kind 9");
    assertThat(decode(in)).isEmpty();
  }

  @Test
  void aBodyThatDoesNotParseIsAnError() {
    EmbeddedChannel in = new EmbeddedChannel(new DataCodec(LIMIT, false));
    // field 1 with wire type 7, which protobuf does not have
    ByteBuf b = Unpooled.buffer().writeInt(2).writeByte(DataMessage.FRAME).writeByte(0x0F).writeByte(0);
    assertThatThrownBy(() -> in.writeInbound(b)).isInstanceOf(DataProtocolException.class)
        .hasMessageContaining("frame of 2 bytes that does not parse");
    // a length-delimited field longer than the body
    EmbeddedChannel in2 = new EmbeddedChannel(new DataCodec(LIMIT, false));
    ByteBuf b2 = Unpooled.buffer().writeInt(3).writeByte(DataMessage.HELLO).writeByte(0x12).writeByte(100)
        .writeByte(1);
    assertThatThrownBy(() -> in2.writeInbound(b2)).isInstanceOf(DataProtocolException.class)
        .hasMessageContaining("hello of 3 bytes that does not parse");
    assertThat(decode(in)).isEmpty();
    assertThat(decode(in2)).isEmpty();
  }

  @Test
  void aConnectionEndingInsideAMessageIsAnErrorAndDeliversNothingOfIt() {
    ByteBuf bytes = encode(List.of(new DataMessage.FrameMessage(frame(1, 100)), new DataMessage.FrameMessage(frame(2, 100))));
    int cut = bytes.readableBytes() - 10;
    EmbeddedChannel in = new EmbeddedChannel(new DataCodec(LIMIT, false));
    in.writeInbound(bytes.readRetainedSlice(cut));
    List<Object> got = decode(in);
    assertThat(got).hasSize(1);
    assertThat(((DataMessage.FrameMessage) got.get(0)).body().getRequestId()).isEqualTo(1);
    assertThatThrownBy(in::finish).isInstanceOf(DataProtocolException.class)
        .hasMessageContaining("the connection ended inside a message").hasMessageContaining("of a frame");
    assertThat(decode(in)).isEmpty();
    bytes.release();
  }

  @Test
  void framesKeepTheirPayloadsExactly() {
    Frame f = frame(3, 5000);
    EmbeddedChannel in = new EmbeddedChannel(new DataCodec(LIMIT, false));
    in.writeInbound(encode(List.of(new DataMessage.FrameMessage(f))));
    Frame back = ((DataMessage.FrameMessage) decode(in).get(0)).body();
    assertThat(back).isEqualTo(f);
    Map<String, TensorData> t = Frames.decode(back, LIMIT);
    assertThat(t.get("x").shape()).containsExactly(1, 5000);
  }

  /**
   * The worker's data port parses payloads as views of the receive buffer (it decodes a frame's
   * tensors before its read handler returns); the links' codec copies them, since the coordinator
   * keeps results. A view sees the buffer's later contents, a copy does not.
   */
  @Test
  void anAliasingCodecsPayloadsAreViewsOfTheReceiveBufferACopyingOnesAreNot() {
    Frame sent = frame(7, 256);
    for (boolean alias : new boolean[] {true, false}) {
      ByteBuf wire = Unpooled.directBuffer().writeBytes(encode(List.of(new DataMessage.FrameMessage(sent))));
      wire.retain(); // the decoder releases what it consumed; the test overwrites it afterwards
      EmbeddedChannel in = new EmbeddedChannel(new DataCodec(LIMIT, alias));
      in.writeInbound(wire);
      Frame got = ((DataMessage.FrameMessage) in.readInbound()).body();
      assertThat(got).isEqualTo(sent);
      assertThat(Frames.decode(got, LIMIT)).isEqualTo(Frames.decode(sent, LIMIT));
      wire.setZero(0, wire.capacity());
      assertThat(got.getTensors(0).getPayload().equals(sent.getTensors(0).getPayload()))
          .as("payload still equal after the receive buffer was overwritten, aliasing " + alias)
          .isEqualTo(!alias);
      wire.release();
      in.finishAndReleaseAll();
    }
  }

  /**
   * Netty's decoder releases its buffer before it hands on a read's last message: an aliasing codec
   * must keep the bytes its messages view until they have been handled, and no longer.
   */
  @Test
  void theBytesAnAliasedMessageViewsLiveUntilItHasBeenHandledAndAreReleasedThen() {
    List<DataMessage> sent = List.of(new DataMessage.FrameMessage(frame(1, 300)), new DataMessage.FrameMessage(frame(2, 500)));
    ByteBuf wire = Unpooled.directBuffer().writeBytes(encode(sent));
    List<Integer> liveWhenHandled = new ArrayList<>();
    List<Map<String, TensorData>> decoded = new ArrayList<>();
    EmbeddedChannel in = new EmbeddedChannel(new DataCodec(LIMIT, true),
        new io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter() {
          @Override
          public void channelRead(io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext ctx, Object msg) {
            liveWhenHandled.add(wire.refCnt());
            decoded.add(Frames.decode(((DataMessage.FrameMessage) msg).body(), LIMIT));
          }
        });
    in.writeInbound(wire);
    assertThat(liveWhenHandled).hasSize(2).allMatch(c -> c > 0);
    assertThat(decoded).containsExactly(Frames.decode(frame(1, 300), LIMIT), Frames.decode(frame(2, 500), LIMIT));
    assertThat(wire.refCnt()).as("released once handled").isZero();
    in.finishAndReleaseAll();
  }
}
