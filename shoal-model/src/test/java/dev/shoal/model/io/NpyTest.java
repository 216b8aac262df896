package dev.shoal.model.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {

  @TempDir Path dir;

  @Test
  void roundTripsFloatAndIntTensors() throws IOException {
    TensorData f = TensorData.ofFloats("x", new long[] {2, 3}, new float[] {1, -2, 3.5f, 0, 1e-7f, 7});
    Npy.write(f, dir.resolve("x.npy"));
    TensorData back = Npy.read(dir.resolve("x.npy"));
    assertThat(back).isEqualTo(f);

    TensorData ints = new TensorData("labels", DType.INT64, new long[] {5}, new byte[40]);
    Npy.write(ints, dir.resolve("labels.npy"));
    assertThat(Npy.read(dir.resolve("labels.npy"))).isEqualTo(ints);
  }

  @Test
  void headerIsAlignedAndReadableByNumpyConvention() throws IOException {
    Npy.write(TensorData.ofFloats("v", new long[] {4}, new float[4]), dir.resolve("v.npy"));
    byte[] bytes = Files.readAllBytes(dir.resolve("v.npy"));
    String header = new String(bytes, 10, bytes.length - 10 - 16, java.nio.charset.StandardCharsets.ISO_8859_1);
    assertThat((bytes.length - 16) % 64).isZero();
    assertThat(header).contains("'descr': '<f4'").contains("'shape': (4,)").endsWith("\n");
  }

  @Test
  void rejectsTruncatedAndForeignFiles() throws IOException {
    Npy.write(TensorData.ofFloats("x", new long[] {8}, new float[8]), dir.resolve("x.npy"));
    byte[] whole = Files.readAllBytes(dir.resolve("x.npy"));
    Files.write(dir.resolve("cut.npy"), Arrays.copyOf(whole, whole.length - 3));
    assertThatThrownBy(() -> Npy.read(dir.resolve("cut.npy")))
        .isInstanceOf(IOException.class).hasMessageContaining("needs 32 data bytes");
    Files.writeString(dir.resolve("text.npy"), "hello, this is not numpy");
    assertThatThrownBy(() -> Npy.read(dir.resolve("text.npy")))
        .isInstanceOf(IOException.class).hasMessageContaining("bad magic");
  }
}
