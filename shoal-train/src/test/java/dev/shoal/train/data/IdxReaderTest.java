package dev.shoal.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.train.SampleData;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {

  @TempDir Path tmp;

  @Test
  void readsTheGzippedSample() throws IOException {
    LabelledImages train = LabelledImages.load(SampleData.dir(), Split.TRAIN);
    assertThat(train.count()).isEqualTo(300);
    assertThat(train.rows()).isEqualTo(28);
    assertThat(train.cols()).isEqualTo(28);
    assertThat(train.numClasses()).isEqualTo(10);
    // Fashion-MNIST's first training image is an ankle boot (class 9), its first test image too.
    assertThat(train.label(0)).isEqualTo(9);
    assertThat(LabelledImages.load(SampleData.dir(), Split.TEST).label(0)).isEqualTo(9);
  }

  @Test
  void readsRawFilesTheSameAsGzipped() throws IOException {
    for (String f : new String[] {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
      Files.write(tmp.resolve(f), gunzip(SampleData.dir().resolve(f + ".gz")));
    }
    LabelledImages raw = LabelledImages.load(tmp, Split.TEST);
    LabelledImages gz = LabelledImages.load(SampleData.dir(), Split.TEST);
    assertThat(raw.pixels()).isEqualTo(gz.pixels());
    assertThat(raw.labels()).isEqualTo(gz.labels());
  }

  @Test
  void rejectsBadMagic() throws IOException {
    Path labels = SampleData.dir().resolve("t10k-labels-idx1-ubyte.gz");
    assertThatThrownBy(() -> IdxReader.readImages(labels))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("magic 0x801")
        .hasMessageContaining(labels.toString());
  }

  @Test
  void rejectsTruncatedFiles() throws IOException {
    byte[] full = gunzip(SampleData.dir().resolve("t10k-images-idx3-ubyte.gz"));
    Path cut = tmp.resolve("cut-images");
    Files.write(cut, Arrays.copyOf(full, full.length - 100));
    assertThatThrownBy(() -> IdxReader.readImages(cut))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("truncated")
        .hasMessageContaining("200 images of 28x28");
  }

  @Test
  void namesTheMissingFile() {
    assertThatThrownBy(() -> LabelledImages.load(tmp, Split.TRAIN))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("missing train-images-idx3-ubyte");
  }

  @Test
  void saysWhereFashionMnistComesFromWhenTheDirectoryIsMissing() {
    assertThatThrownBy(() -> LabelledImages.load(tmp.resolve("absent"), Split.TEST))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("absent: no such directory")
        .hasMessageContaining("apt-get install dataset-fashion-mnist");
  }

  private static byte[] gunzip(Path file) throws IOException {
    try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
      return in.readAllBytes();
    }
  }
}
