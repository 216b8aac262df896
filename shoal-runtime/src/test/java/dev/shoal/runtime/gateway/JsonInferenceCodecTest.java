package dev.shoal.runtime.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The streaming KServe v2 request decoder: JSON, the binary extension, and the limits it keeps. */
class JsonInferenceCodecTest {

  private static final long LIMIT = 1 << 20;
  private static final float[] X = {1f, 2f, -1f, 0.5f};

  private static InferRequest decode(String json) {
    return JsonInferenceCodec.decodeRequest(Unpooled.wrappedBuffer(json.getBytes(StandardCharsets.UTF_8)), -1,
        "m", "", LIMIT, TensorCheck.NONE);
  }

  private static InferRequest decodeBinary(String json, byte[]... parts) {
    byte[] head = json.getBytes(StandardCharsets.UTF_8);
    ByteBuf body = Unpooled.wrappedBuffer(head);
    for (byte[] p : parts) {
      body = Unpooled.wrappedBuffer(body, Unpooled.wrappedBuffer(p));
    }
    return JsonInferenceCodec.decodeRequest(body, head.length, "m", "", LIMIT, TensorCheck.NONE);
  }

  private static void assertBad(Runnable decode, Kind kind, String message) {
    assertThatThrownBy(decode::run).isInstanceOfSatisfying(InferenceException.class, e -> {
      assertThat(e.kind()).as(e.getMessage()).isEqualTo(kind);
      assertThat(e.getMessage()).contains(message);
    });
  }

  @Test
  void fieldsInAnyOrderGiveTheSameTensor() {
    TensorData expected = TensorData.ofFloats("x", new long[] {1, 4}, X);
    InferRequest inOrder = decode("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\","
        + "\"data\":[1,2,-1,0.5]}]}");
    InferRequest dataFirst = decode("{\"id\":\"a\",\"inputs\":[{\"data\":[[1,2,-1,0.5]],\"datatype\":\"FP32\","
        + "\"shape\":[1,4],\"name\":\"x\"}],\"outputs\":[{\"name\":\"probs\"}]}");
    assertThat(inOrder.inputs()).containsExactly(expected);
    assertThat(dataFirst.inputs()).containsExactly(expected);
    assertThat(dataFirst.id()).isEqualTo("a");
    assertThat(dataFirst.requestedOutputs()).containsExactly("probs");
  }

  @Test
  void binaryInputsAreSlicedFromAfterTheJsonPart() {
    TensorData x = TensorData.ofFloats("x", new long[] {1, 4}, X);
    TensorData y = new TensorData("y", DType.INT64, new long[] {2}, new byte[16]);
    InferRequest r = decodeBinary("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\","
        + "\"parameters\":{\"binary_data_size\":16}},{\"name\":\"y\",\"shape\":[2],\"datatype\":\"INT64\","
        + "\"parameters\":{\"binary_data_size\":16}}],\"parameters\":{\"binary_data_output\":true},"
        + "\"outputs\":[{\"name\":\"logits\",\"parameters\":{\"binary_data\":false}}]}", x.data(), y.data());
    assertThat(r.inputs()).containsExactly(x, y);
    assertThat(r.binaryOutputs().binary("probs")).isTrue();
    assertThat(r.binaryOutputs().binary("logits")).isFalse();
  }

  @Test
  void badBinaryRequestsAreRefusedByName() {
    String one = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\","
        + "\"parameters\":{\"binary_data_size\":16}}]}";
    assertBad(() -> decodeBinary(one, new byte[12]), Kind.BAD_INPUT, "run past the end of the body (12 left)");
    assertBad(() -> decodeBinary(one, new byte[20]), Kind.BAD_INPUT, "4 bytes after the JSON part belong to no input");
    assertBad(() -> decode(one), Kind.BAD_INPUT, "needs the Inference-Header-Content-Length header");
    assertBad(() -> decodeBinary(one.replace("16}", "12}"), new byte[12]), Kind.BAD_INPUT,
        "binary_data_size is 12 but shape [1, 4] of FP32 needs 16 bytes");
    assertBad(() -> decodeBinary(one.replace("}}]}", "},\"data\":[1,2,3,4]}]}"), new byte[16]), Kind.BAD_INPUT,
        "has both 'data' and parameters.binary_data_size");
    assertBad(() -> JsonInferenceCodec.decodeRequest(Unpooled.wrappedBuffer(new byte[4]), 10, "m", "", LIMIT,
        TensorCheck.NONE), Kind.BAD_INPUT, "Inference-Header-Content-Length is 10 but the body has only 4 bytes");
  }

  @Test
  void trailingContentAfterTheObjectIsRefused() {
    String good = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,1],\"datatype\":\"FP32\",\"data\":[1]}]}";
    assertThat(decode(good + " \n\t").inputs()).hasSize(1);
    assertBad(() -> decode(good + "garbage"), Kind.BAD_INPUT, "unexpected content after the JSON object");
    assertBad(() -> decode(good + "{}"), Kind.BAD_INPUT, "unexpected content after the JSON object");
  }

  @Test
  void nestingDeeperThanTheShapeAndEmptyArraysCostNoMemory() {
    // 1 MB of empty arrays for a [2,4] tensor: refused without a tree of them being built
    String empties = "[]," .repeat(250_000);
    assertBad(() -> decode("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,4],\"datatype\":\"FP32\",\"data\":["
        + empties + "[]]}]}"), Kind.BAD_INPUT, "needs 8 elements, 'data' has 0");
    assertBad(() -> decode("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,4],\"datatype\":\"FP32\",\"data\":[[[1]]]}]}"),
        Kind.BAD_INPUT, "nested deeper than the shape's 2 dimension(s)");
    // data before its shape is skipped first: Jackson's nesting limit bounds that walk
    assertBad(() -> decode("{\"inputs\":[{\"name\":\"x\",\"data\":" + "[".repeat(100) + "]".repeat(100)
        + ",\"shape\":[1],\"datatype\":\"FP32\"}]}"), Kind.BAD_INPUT, "exceeds a limit");
  }

  @Test
  void decodedSizeIsLimitedFromTheShapeBeforeAnyDataIsRead() {
    assertBad(() -> decode("{\"inputs\":[{\"name\":\"x\",\"shape\":[1000000,4],\"datatype\":\"FP32\",\"data\":[1]}]}"),
        Kind.TOO_LARGE, "over the limit of 1048576");
    assertBad(() -> decode("{\"inputs\":[{\"name\":\"x\",\"shape\":[4000000000,4000000000,4000000000],"
        + "\"datatype\":\"FP32\",\"data\":[1]}]}"), Kind.BAD_INPUT, "has too many elements");
    assertBad(() -> decode("{\"inputs\":[{\"name\":\"x\",\"shape\":[2305843009213693952],"
        + "\"datatype\":\"FP32\",\"data\":[1]}]}"), Kind.BAD_INPUT, "has too many elements");
  }

  @Test
  void theCheckSeesEachInputBeforeItsData() {
    TensorCheck refuseY = (name, dtype, shape) -> {
      if (name.equals("y")) {
        throw new InferenceException(Kind.BAD_INPUT, "no input 'y' here");
      }
    };
    assertBad(() -> JsonInferenceCodec.decodeRequest(Unpooled.wrappedBuffer(("{\"inputs\":[{\"name\":\"y\","
        + "\"shape\":[1],\"datatype\":\"FP32\",\"data\":[\"never read\"]}]}").getBytes(StandardCharsets.UTF_8)), -1,
        "m", "", LIMIT, refuseY), Kind.BAD_INPUT, "no input 'y' here");
  }
}
