package dev.shoal.train.fluid;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Parameter values in and out of blocks: copies between parameters, and checkpoint files that hold
 * every parameter of a block (running statistics included) by name, float32.
 */
final class Weights {

  private static final int MAGIC = 0x464c5544; // "FLUD"

  private Weights() {}

  /** Copies {@code value} into {@code target}'s array in place; the shapes must agree. */
  static void copy(NDArray value, Parameter target) {
    NDArray array = target.getArray();
    if (!array.getShape().equals(value.getShape())) {
      throw new IllegalArgumentException(
          "parameter " + target.getName() + " is " + array.getShape() + ", the value " + value.getShape());
    }
    array.set(value.toType(DataType.FLOAT32, false).toFloatArray());
  }

  /** Writes every parameter of {@code block} to {@code file} (aside, then moved into place). */
  static void save(Block block, Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".part");
    try {
      try (DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(tmp)))) {
        var params = block.getParameters();
        out.writeInt(MAGIC);
        out.writeInt(params.size());
        for (var e : params) {
          NDArray a = e.getValue().getArray();
          out.writeUTF(e.getKey());
          long[] shape = a.getShape().getShape();
          out.writeInt(shape.length);
          for (long d : shape) {
            out.writeLong(d);
          }
          for (float f : a.toType(DataType.FLOAT32, false).toFloatArray()) {
            out.writeFloat(f);
          }
        }
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Sets every parameter of the initialised {@code block} from {@code file}, which must hold exactly
   * the block's parameters with the same shapes.
   */
  static void load(Block block, Path file) throws IOException {
    load(block, file, Set.of());
  }

  /**
   * As {@link #load(Block, Path)}, but the parameters named in {@code mayDiffer} may be missing from
   * {@code file} or have another shape there: those keep their values.
   */
  static void load(Block block, Path file, Set<String> mayDiffer) throws IOException {
    Map<String, Parameter> params = new java.util.HashMap<>();
    block.getParameters().forEach(p -> params.put(p.getKey(), p.getValue()));
    Set<String> seen = new HashSet<>();
    try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file)))) {
      if (in.readInt() != MAGIC) {
        throw new IOException(file + ": not a Shoal checkpoint");
      }
      int count = in.readInt();
      for (int i = 0; i < count; i++) {
        String name = in.readUTF();
        long[] shape = new long[in.readInt()];
        long size = 1;
        for (int d = 0; d < shape.length; d++) {
          shape[d] = in.readLong();
          size *= shape[d];
        }
        Parameter p = params.get(name);
        if ((p == null || !Arrays.equals(p.getArray().getShape().getShape(), shape)) && mayDiffer.contains(name)) {
          in.skipNBytes(4 * size);
          continue;
        }
        if (p == null) {
          throw new IOException(file + ": parameter " + name + " is not in this network (a checkpoint of another shape?)");
        }
        if (!Arrays.equals(p.getArray().getShape().getShape(), shape)) {
          throw new IOException(file + ": parameter " + name + " is " + Arrays.toString(shape) + " in the checkpoint, "
              + p.getArray().getShape() + " in the network");
        }
        float[] values = new float[(int) size];
        for (int j = 0; j < values.length; j++) {
          values[j] = in.readFloat();
        }
        p.getArray().set(values);
        seen.add(name);
      }
    }
    Set<String> missing = new HashSet<>(params.keySet());
    missing.removeAll(seen);
    missing.removeAll(mayDiffer);
    if (!missing.isEmpty()) {
      throw new IOException(file + ": checkpoint lacks parameters " + missing);
    }
  }
}
