package dev.shoal.model.io;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** NumPy {@code .npy} files (format 1.0–3.0, C order, little-endian) to and from {@link TensorData}. */
public final class Npy {

  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  private Npy() {}

  /** Reads a .npy file; the tensor is named after the file (without extension). */
  public static TensorData read(Path file) throws IOException {
    String name = file.getFileName().toString().replaceFirst("\\.npy$", "");
    return parse(name, Files.readAllBytes(file), file.toString());
  }

  public static TensorData parse(String name, byte[] bytes, String where) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < 10) {
      throw new IOException(where + ": not a .npy file (only " + bytes.length + " bytes)");
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (buf.get() != MAGIC[i]) {
        throw new IOException(where + ": not a .npy file (bad magic)");
      }
    }
    int major = buf.get() & 0xff;
    buf.get();
    long headerLen = major == 1 ? buf.getShort() & 0xffff : buf.getInt() & 0xffffffffL;
    if (major < 1 || major > 3 || headerLen > bytes.length - buf.position()) {
      throw new IOException(where + ": unsupported or truncated .npy header (version " + major + ")");
    }
    String header = new String(bytes, buf.position(), (int) headerLen, StandardCharsets.ISO_8859_1);
    int dataStart = buf.position() + (int) headerLen;
    DType dtype = dtypeOf(field(DESCR, header, "descr", where), where);
    if ("True".equals(field(FORTRAN, header, "fortran_order", where))) {
      throw new IOException(where + ": Fortran-order arrays are not supported; save with C order");
    }
    long[] shape = parseShape(field(SHAPE, header, "shape", where));
    long expected = TensorData.elementCount(shape) * dtype.byteSize();
    if (bytes.length - dataStart != expected) {
      throw new IOException(where + ": shape " + Arrays.toString(shape) + " of " + dtype + " needs "
          + expected + " data bytes, file has " + (bytes.length - dataStart));
    }
    byte[] data = new byte[(int) expected];
    System.arraycopy(bytes, dataStart, data, 0, data.length);
    return new TensorData(name, dtype, shape, data);
  }

  /** Writes {@code t} to {@code file} (written aside, then moved into place). */
  public static void write(TensorData t, Path file) throws IOException {
    StringBuilder shape = new StringBuilder();
    for (long d : t.shape()) {
      shape.append(d).append(", ");
    }
    String shapeText = t.shape().length == 1 ? shape.substring(0, shape.length() - 1)
        : t.shape().length == 0 ? "" : shape.substring(0, shape.length() - 2);
    String header = "{'descr': '" + descrOf(t.dtype()) + "', 'fortran_order': False, 'shape': (" + shapeText + "), }";
    int unpadded = MAGIC.length + 2 + 2 + header.length() + 1;
    int pad = (64 - unpadded % 64) % 64;
    header = header + " ".repeat(pad) + "\n";
    ByteBuffer out = ByteBuffer.allocate(MAGIC.length + 4 + header.length() + t.data().length)
        .order(ByteOrder.LITTLE_ENDIAN);
    out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
    out.put(header.getBytes(StandardCharsets.ISO_8859_1)).put(t.data());
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = Files.createTempFile(parent, ".npy-", ".tmp");
    try {
      Files.write(tmp, out.array());
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static String field(Pattern p, String header, String key, String where) throws IOException {
    Matcher m = p.matcher(header);
    if (!m.find()) {
      throw new IOException(where + ": .npy header has no '" + key + "': " + header.trim());
    }
    return m.group(1);
  }

  private static long[] parseShape(String text) {
    List<Long> dims = new ArrayList<>();
    for (String part : text.split(",")) {
      if (!part.isBlank()) {
        dims.add(Long.parseLong(part.trim()));
      }
    }
    return dims.stream().mapToLong(Long::longValue).toArray();
  }

  private static DType dtypeOf(String descr, String where) throws IOException {
    return switch (descr) {
      case "<f4" -> DType.FLOAT;
      case "<f8" -> DType.DOUBLE;
      case "<f2" -> DType.FLOAT16;
      case "<i8" -> DType.INT64;
      case "<i4" -> DType.INT32;
      case "|i1", "<i1" -> DType.INT8;
      case "|u1", "<u1" -> DType.UINT8;
      case "|b1" -> DType.BOOL;
      default -> throw new IOException(where + ": unsupported .npy dtype '" + descr
          + "' (supported: float32/64/16, int64/32/8, uint8, bool, little-endian)");
    };
  }

  private static String descrOf(DType t) {
    return switch (t) {
      case FLOAT -> "<f4";
      case DOUBLE -> "<f8";
      case FLOAT16 -> "<f2";
      case INT64 -> "<i8";
      case INT32 -> "<i4";
      case INT8 -> "|i1";
      case UINT8 -> "|u1";
      case BOOL -> "|b1";
    };
  }
}
