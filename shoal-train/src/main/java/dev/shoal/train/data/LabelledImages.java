package dev.shoal.train.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Single-channel images with class labels, kept as raw unsigned bytes ({@code count × rows × cols});
 * normalisation happens when batches are made.
 */
public record LabelledImages(int count, int rows, int cols, byte[] pixels, byte[] labels) {

  public LabelledImages {
    if (pixels.length != (long) count * rows * cols) {
      throw new IllegalArgumentException(
          "pixels hold " + pixels.length + " bytes, not " + count + "x" + rows + "x" + cols);
    }
    if (labels.length != count) {
      throw new IllegalArgumentException(labels.length + " labels for " + count + " images");
    }
  }

  /**
   * Loads one split of an MNIST-format directory, e.g. {@code /usr/share/datasets/fashion-mnist}:
   * {@code train-images-idx3-ubyte.gz} (or the file without {@code .gz}) and its labels.
   */
  public static LabelledImages load(Path dir, Split split) throws IOException {
    IdxReader.Images images = IdxReader.readImages(find(dir, split.imagesFile()));
    byte[] labels = IdxReader.readLabels(find(dir, split.labelsFile()));
    if (labels.length != images.count()) {
      throw new IOException(
          dir + ": " + split.name().toLowerCase() + " split has " + images.count() + " images but "
              + labels.length + " labels");
    }
    return new LabelledImages(images.count(), images.rows(), images.cols(), images.pixels(), labels);
  }

  private static Path find(Path dir, String baseName) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new IOException(dir + ": no such directory (Fashion-MNIST in IDX format comes with Debian's "
          + "dataset-fashion-mnist package: apt-get install dataset-fashion-mnist)");
    }
    Path gz = dir.resolve(baseName + ".gz");
    if (Files.isRegularFile(gz)) {
      return gz;
    }
    Path raw = dir.resolve(baseName);
    if (Files.isRegularFile(raw)) {
      return raw;
    }
    throw new IOException(dir + ": missing " + baseName + "(.gz)");
  }

  public int label(int index) {
    return labels[index] & 0xff;
  }

  /** Number of classes: the largest label plus one. */
  public int numClasses() {
    int max = 0;
    for (byte l : labels) {
      max = Math.max(max, l & 0xff);
    }
    return max + 1;
  }

  /** The first {@code n} images (or all, when there are fewer). */
  public LabelledImages head(int n) {
    int m = Math.min(n, count);
    byte[] p = new byte[m * rows * cols];
    System.arraycopy(pixels, 0, p, 0, p.length);
    byte[] l = new byte[m];
    System.arraycopy(labels, 0, l, 0, m);
    return new LabelledImages(m, rows, cols, p, l);
  }
}
