package dev.shoal.runtime.gateway;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.shoal.runtime.gateway.kserve.ModelInferRequest;
import dev.shoal.runtime.serving.InferenceException;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;

/**
 * Fuzzes the three request decoders clients reach: KServe v2 JSON, JSON with binary tensor data
 * after it, and the gRPC {@code ModelInferRequest}. Whatever the bytes, a decoder either returns a
 * request or throws an {@link InferenceException} (a 4xx); anything else escaping (a runtime
 * exception, an OutOfMemoryError) is a crash. The decoded-bytes limit is small so that a crash
 * through allocation shows within the fuzzer's heap.
 *
 * <p>In a normal build each test replays its saved inputs (under {@code src/test/resources}); with
 * {@code JAZZER_FUZZ=1} it fuzzes for up to {@code maxDuration}.
 */
class KServeDecoderFuzzTest {

  private static final long LIMIT = 1 << 20;

  @FuzzTest(maxDuration = "20s")
  void jsonRequest(byte[] body) {
    try {
      JsonInferenceCodec.decodeRequest(Unpooled.wrappedBuffer(body), -1, "m", "", LIMIT, TensorCheck.NONE);
    } catch (InferenceException expected) {
      // a clear 4xx: fine
    }
  }

  @FuzzTest(maxDuration = "20s")
  void binaryExtensionRequest(FuzzedDataProvider data) {
    int headerLength = data.consumeInt(-1, 4096);
    byte[] body = data.consumeRemainingAsBytes();
    try {
      JsonInferenceCodec.decodeRequest(Unpooled.wrappedBuffer(body), headerLength, "m", "", LIMIT, TensorCheck.NONE);
    } catch (InferenceException expected) {
      // a clear 4xx: fine
    }
  }

  @FuzzTest(maxDuration = "20s")
  void grpcRequest(byte[] message) {
    ModelInferRequest request;
    try {
      request = ModelInferRequest.parseFrom(message);
    } catch (InvalidProtocolBufferException notAMessage) {
      return; // gRPC refuses it before the service sees it
    }
    try {
      GrpcInferenceApi.decode(request, LIMIT, TensorCheck.NONE);
    } catch (InferenceException expected) {
      // a clear INVALID_ARGUMENT / RESOURCE_EXHAUSTED: fine
    }
  }
}
