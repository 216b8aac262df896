package dev.shoal.runtime.gateway;

import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import java.util.Map;

/** One HTTP response of the REST API; the connection writes and releases the body. */
record RestResponse(int status, String contentType, ByteBuf body, Map<String, String> headers) {

  static final String JSON = "application/json";

  static RestResponse of(int status, String contentType, byte[] body) {
    return new RestResponse(status, contentType, Unpooled.wrappedBuffer(body), Map.of());
  }

  static RestResponse json(int status, Object value) {
    return of(status, JSON, JsonInferenceCodec.object(value));
  }

  static RestResponse error(int status, String message) {
    return of(status, JSON, JsonInferenceCodec.error(message));
  }

  RestResponse withHeader(String name, String value) {
    Map<String, String> more = new java.util.LinkedHashMap<>(headers);
    more.put(name, value);
    return new RestResponse(status, contentType, body, Map.copyOf(more));
  }
}
