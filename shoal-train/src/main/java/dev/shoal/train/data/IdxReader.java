package dev.shoal.train.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads the IDX format of MNIST and Fashion-MNIST (unsigned-byte images and labels), plain or
 * gzip-compressed (detected by the gzip magic, not the file name).
 */
public final class IdxReader {

  private static final int UBYTE_IMAGES_MAGIC = 0x00000803;
  private static final int UBYTE_LABELS_MAGIC = 0x00000801;

  private IdxReader() {}

  /** Images as {@code count × rows × cols} unsigned bytes. */
  public record Images(int count, int rows, int cols, byte[] pixels) {}

  public static Images readImages(Path file) throws IOException {
    try (DataInputStream in = open(file)) {
      int magic = in.readInt();
      if (magic != UBYTE_IMAGES_MAGIC) {
        throw new IOException(
            file + ": not an IDX ubyte image file (magic 0x" + Integer.toHexString(magic)
                + ", expected 0x803)");
      }
      int count = positive(file, "image count", in.readInt());
      int rows = positive(file, "rows", in.readInt());
      int cols = positive(file, "cols", in.readInt());
      byte[] pixels = new byte[Math.multiplyExact(Math.multiplyExact(count, rows), cols)];
      readFully(file, in, pixels, count + " images of " + rows + "x" + cols);
      return new Images(count, rows, cols, pixels);
    }
  }

  /** Labels as unsigned bytes. */
  public static byte[] readLabels(Path file) throws IOException {
    try (DataInputStream in = open(file)) {
      int magic = in.readInt();
      if (magic != UBYTE_LABELS_MAGIC) {
        throw new IOException(
            file + ": not an IDX ubyte label file (magic 0x" + Integer.toHexString(magic)
                + ", expected 0x801)");
      }
      int count = positive(file, "label count", in.readInt());
      byte[] labels = new byte[count];
      readFully(file, in, labels, count + " labels");
      return labels;
    }
  }

  private static DataInputStream open(Path file) throws IOException {
    InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    raw.mark(2);
    int b0 = raw.read();
    int b1 = raw.read();
    raw.reset();
    boolean gzip = b0 == 0x1f && b1 == 0x8b;
    return new DataInputStream(gzip ? new BufferedInputStream(new GZIPInputStream(raw), 1 << 16) : raw);
  }

  private static int positive(Path file, String what, int value) throws IOException {
    if (value <= 0) {
      throw new IOException(file + ": IDX header has " + what + " " + value + ", must be positive");
    }
    return value;
  }

  private static void readFully(Path file, DataInputStream in, byte[] into, String expected)
      throws IOException {
    try {
      in.readFully(into);
    } catch (EOFException e) {
      throw new IOException(file + ": truncated, header promises " + expected, e);
    }
  }
}
