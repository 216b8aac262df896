package dev.shoal.runtime.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultHttpHeaders;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

/** Which request bodies the REST API decodes on the event loop, and which it hands to its pool. */
class InlineDecodeTest {

  private static RestRequest request(int bodyBytes, String jsonLength) {
    HttpHeaders headers = new DefaultHttpHeaders();
    if (jsonLength != null) {
      headers.set(JsonInferenceCodec.HEADER_LENGTH, jsonLength);
    }
    return new RestRequest("POST", "/v2/models/m/infer", headers, Unpooled.wrappedBuffer(new byte[bodyBytes]));
  }

  @Test
  void aSmallBodyIsDecodedInline() {
    assertThat(HttpApi.decodesQuickly(request(60 << 10, null))).isTrue();
  }

  @Test
  void largeJsonGoesToThePool() {
    assertThat(HttpApi.decodesQuickly(request(200 << 10, null))).isFalse();
    assertThat(HttpApi.decodesQuickly(request(200 << 10, String.valueOf(100 << 10)))).isFalse();
  }

  @Test
  void binaryTensorDataBehindSmallJsonIsDecodedInlineUpToItsBound() {
    assertThat(HttpApi.decodesQuickly(request(110 << 10, "300"))).isTrue();
    assertThat(HttpApi.decodesQuickly(request((4 << 20) + 300, "300"))).isTrue();
    assertThat(HttpApi.decodesQuickly(request((5 << 20), "300"))).isFalse();
  }

  @Test
  void aBadHeaderLengthGoesToThePoolWhereTheDecoderRefusesIt() {
    assertThat(HttpApi.decodesQuickly(request(200 << 10, "many"))).isFalse();
    assertThat(HttpApi.decodesQuickly(request(200 << 10, "-1"))).isFalse();
  }
}
