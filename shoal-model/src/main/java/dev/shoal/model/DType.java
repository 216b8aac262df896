package dev.shoal.model;

/** Element types Shoal moves between stages, with their ONNX {@code TensorProto.DataType} codes. */
public enum DType {
  FLOAT(1, 4),
  UINT8(2, 1),
  INT8(3, 1),
  INT32(6, 4),
  INT64(7, 8),
  BOOL(9, 1),
  FLOAT16(10, 2),
  DOUBLE(11, 8);

  private final int onnxCode;
  private final int byteSize;

  DType(int onnxCode, int byteSize) {
    this.onnxCode = onnxCode;
    this.byteSize = byteSize;
  }

  public int onnxCode() {
    return onnxCode;
  }

  public int byteSize() {
    return byteSize;
  }

  public static DType fromOnnx(int code) {
    for (DType t : values()) {
      if (t.onnxCode == code) {
        return t;
      }
    }
    throw new IllegalArgumentException("unsupported ONNX element type " + code);
  }
}
