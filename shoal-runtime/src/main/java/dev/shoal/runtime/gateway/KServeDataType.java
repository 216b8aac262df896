package dev.shoal.runtime.gateway;

import dev.shoal.model.DType;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The Open Inference Protocol's datatype names for the element types Shoal moves. */
public enum KServeDataType {
  FP32(DType.FLOAT),
  FP64(DType.DOUBLE),
  FP16(DType.FLOAT16),
  INT8(DType.INT8),
  UINT8(DType.UINT8),
  INT32(DType.INT32),
  INT64(DType.INT64),
  BOOL(DType.BOOL);

  private final DType dtype;

  KServeDataType(DType dtype) {
    this.dtype = dtype;
  }

  public DType dtype() {
    return dtype;
  }

  public static KServeDataType of(DType dtype) {
    for (KServeDataType t : values()) {
      if (t.dtype == dtype) {
        return t;
      }
    }
    throw new IllegalArgumentException("no KServe datatype for " + dtype);
  }

  /** The datatype for a protocol name, or a {@link IllegalArgumentException} naming the ones we take. */
  public static KServeDataType parse(String name) {
    for (KServeDataType t : values()) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "unsupported datatype '" + name + "' (supported: "
            + Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", ")) + ")");
  }
}
