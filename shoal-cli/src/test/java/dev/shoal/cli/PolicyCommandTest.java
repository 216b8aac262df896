package dev.shoal.cli;

import static dev.shoal.cli.ModelCommandsTest.shoal;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.TensorData;
import dev.shoal.model.io.Npy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code shoal policy} on the bundled trained demo classifier and 120 of its test images, then
 * {@code shoal run} on the split it wrote: the offline run with the chosen codecs reproduces the
 * agreement the policy reports, and bad options get one-line errors.
 */
class PolicyCommandTest {
  private static final int N = 120;

  @TempDir Path dir;
  Path model;
  Path images;
  Path labels;

  @BeforeEach
  void writeInputs() throws IOException {
    model = dir.resolve("fashion.onnx");
    Files.write(model, resource("fashion-classifier.onnx"));
    images = dir.resolve("x.npy");
    labels = dir.resolve("y.npy");
    Npy.write(firstRows(Npy.parse("x", resource("fashion-test-images.npy"), "images"), N), images);
    Npy.write(firstRows(Npy.parse("y", resource("fashion-test-labels.npy"), "labels"), N), labels);
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = PolicyCommandTest.class.getResourceAsStream("/dev/shoal/bench/demo/" + name)) {
      return in.readAllBytes();
    }
  }

  private static TensorData firstRows(TensorData t, int n) {
    long[] shape = t.shape().clone();
    int row = (int) (t.data().length / shape[0]);
    shape[0] = n;
    return new TensorData(t.name(), t.dtype(), shape, Arrays.copyOf(t.data(), n * row));
  }

  @Test
  void choosesCodecsWithinTheBoundAndRunReproducesTheirEffect() throws Exception {
    Path out = dir.resolve("split");
    ModelCommandsTest.Result r = shoal("policy", "--model", model.toString(), "--inputs", images.toString(),
        "--labels", labels.toString(), "--stages", "3", "--max-agreement-drop", "0.02", "--out", out.toString());
    assertThat(r.status()).as(r.err()).isZero();
    JsonNode policy = new ObjectMapper().readTree(out.resolve("policy.json").toFile());
    JsonNode split = new ObjectMapper().readTree(out.resolve("split.json").toFile());
    assertThat(policy.get("cuts")).hasSize(2);
    double agreement = policy.get("agreement").asDouble();
    assertThat(agreement).isGreaterThanOrEqualTo(0.98);
    assertThat(policy.get("accuracy").isNumber()).isTrue();
    for (int k = 0; k < 2; k++) {
      JsonNode cut = policy.get("cuts").get(k);
      assertThat(split.get("stages").get(k).get("codec").asText()).isEqualTo(cut.get("codec").asText());
      assertThat(split.get("stages").get(k).get("lastPosition").asInt()).isEqualTo(cut.get("after").asInt());
      assertThat(cut.get("encodedBytes").asLong()).isLessThan(cut.get("rawBytes").asLong() / 4);
      assertThat(cut.get("tried")).hasSize(dev.shoal.runtime.codec.TensorCodec.all().size());
    }

    Path whole = dir.resolve("whole.npy");
    Path coded = dir.resolve("coded.npy");
    assertThat(shoal("run", model.toString(), "--input", images.toString(), "--output", whole.toString()).status()).isZero();
    ModelCommandsTest.Result run = shoal("run", out.toString(), "--input", images.toString(), "--output", coded.toString());
    assertThat(run.status()).as(run.err()).isZero();
    assertThat(run.out()).contains("cut codecs [" + policy.get("cuts").get(0).get("codec").asText());
    int[] a = argmax(Npy.read(whole));
    int[] b = argmax(Npy.read(coded));
    int same = 0;
    for (int i = 0; i < N; i++) {
      same += a[i] == b[i] ? 1 : 0;
    }
    // the chosen codecs quantise per channel slice or block, so one request of N rows decodes as N requests do
    assertThat(same / (double) N).isEqualTo(agreement);
  }

  private static int[] argmax(TensorData t) {
    float[] v = t.floats();
    int classes = (int) t.shape()[1];
    int[] out = new int[(int) t.shape()[0]];
    for (int i = 0; i < out.length; i++) {
      for (int c = 1; c < classes; c++) {
        if (v[i * classes + c] > v[i * classes + out[i]]) {
          out[i] = c;
        }
      }
    }
    return out;
  }

  @Test
  void badOptionsAreOneLineErrors() throws Exception {
    String out = dir.resolve("s").toString();
    ModelCommandsTest.Result bound = shoal("policy", "--model", model.toString(), "--inputs", images.toString(),
        "--stages", "2", "--max-agreement-drop", "1.5", "--out", out);
    assertThat(bound.status()).isNotZero();
    assertThat(bound.err()).contains("--max-agreement-drop must be within [0, 1], got 1.5");
    ModelCommandsTest.Result codec = shoal("policy", "--model", model.toString(), "--inputs", images.toString(),
        "--stages", "2", "--codecs", "int8c,int5", "--out", out);
    assertThat(codec.err()).contains("--codecs: unknown codec 'int5'").contains("int8c");
    Path wrong = dir.resolve("wrong.npy");
    Npy.write(TensorData.ofFloats("w", new long[] {2, 1, 27, 28}, new float[2 * 27 * 28]), wrong);
    ModelCommandsTest.Result shape = shoal("policy", "--model", model.toString(), "--inputs", wrong.toString(),
        "--stages", "2", "--out", out);
    assertThat(shape.err()).contains("do not fit model input").contains("[2, 1, 27, 28]");
    ModelCommandsTest.Result fewLabels = shoal("policy", "--model", model.toString(), "--inputs", images.toString(),
        "--labels", wrong.toString(), "--stages", "2", "--out", out);
    assertThat(fewLabels.err()).contains("need one per input, [" + N + "]");
    assertThat(Files.exists(dir.resolve("s"))).isFalse();
  }
}
