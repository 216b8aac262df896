package dev.shoal.runtime.gateway;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.serving.InferenceException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The gateway's refusal of non-finite inputs, for every floating-point type it takes. */
class FiniteInputCheckTest {

  @Test
  void finiteExtremesPass() {
    assertThatCode(() -> InferenceDispatcher.checkFinite(TensorData.ofFloats("x", new long[] {4},
        new float[] {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -0f}))).doesNotThrowAnyException();
    assertThatCode(() -> InferenceDispatcher.checkFinite(doubles(Double.MAX_VALUE, Double.MIN_VALUE, -0d)))
        .doesNotThrowAnyException();
    // 65504 (0x7BFF) is fp16's largest finite value, 0x0001 its smallest subnormal
    assertThatCode(() -> InferenceDispatcher.checkFinite(halves((short) 0x7BFF, (short) 0xFBFF, (short) 0x0001)))
        .doesNotThrowAnyException();
    // integers are never checked: an int32 whose bits read as a float NaN is a valid integer
    TensorData ints = new TensorData("i", DType.INT32, new long[] {1}, le(4).putInt(0x7FC00000).array());
    assertThatCode(() -> InferenceDispatcher.checkFinite(ints)).doesNotThrowAnyException();
  }

  @Test
  void theFirstNonFiniteElementIsNamed() {
    assertRefused(TensorData.ofFloats("x", new long[] {5}, new float[] {0, 1, 2, Float.NEGATIVE_INFINITY, Float.NaN}),
        "input 'x': element 3 is -Infinity");
    assertRefused(doubles(1, Double.NaN), "element 1 is NaN");
    assertRefused(halves((short) 0, (short) 0, (short) 0x7C00), "element 2 is not finite"); // +infinity
    assertRefused(halves((short) 0xFE00), "element 0 is not finite"); // a NaN
  }

  private static void assertRefused(TensorData t, String message) {
    assertThatThrownBy(() -> InferenceDispatcher.checkFinite(t)).isInstanceOf(InferenceException.class)
        .hasMessageContaining(message).hasMessageContaining("inputs must be finite");
  }

  private static TensorData doubles(double... values) {
    ByteBuffer b = le(8 * values.length);
    for (double v : values) {
      b.putDouble(v);
    }
    return new TensorData("d", DType.DOUBLE, new long[] {values.length}, b.array());
  }

  private static TensorData halves(short... values) {
    ByteBuffer b = le(2 * values.length);
    for (short v : values) {
      b.putShort(v);
    }
    return new TensorData("h", DType.FLOAT16, new long[] {values.length}, b.array());
  }

  private static ByteBuffer le(int bytes) {
    return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }
}
