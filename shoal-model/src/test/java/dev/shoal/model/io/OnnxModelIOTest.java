package dev.shoal.model.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.model.ModelFormatException;
import dev.shoal.model.zoo.ModelZoo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelIOTest {

  @TempDir Path dir;

  private final ModelProto model = ModelZoo.multiInputOutput(16, 8, 5, 3);

  @Test
  void roundTripsThroughAFile() {
    Path file = dir.resolve("m.onnx");
    OnnxModelIO.write(model, file);
    assertThat(OnnxModelIO.read(file)).isEqualTo(model);
  }

  @Test
  void truncatedFilesFailWithOneLine() {
    byte[] bytes = model.toByteArray();
    for (int len : new int[] {1, 7, bytes.length / 3, bytes.length / 2, bytes.length - 5}) {
      assertThatThrownBy(() -> OnnxModelIO.parse(Arrays.copyOf(bytes, len), "m.onnx"))
          .as("truncated to %d bytes", len)
          .isInstanceOf(ModelFormatException.class)
          .hasMessageStartingWith("m.onnx: ")
          .hasMessageNotContaining("\n");
    }
  }

  @Test
  void nonOnnxFilesFail() throws Exception {
    Path text = dir.resolve("notes.onnx");
    Files.writeString(text, "this is not a model\n");
    assertThatThrownBy(() -> OnnxModelIO.read(text)).isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("notes.onnx").hasMessageNotContaining("\n");
    Path empty = dir.resolve("empty.onnx");
    Files.write(empty, new byte[0]);
    assertThatThrownBy(() -> OnnxModelIO.read(empty)).hasMessageContaining("empty file");
    assertThatThrownBy(() -> OnnxModelIO.read(dir.resolve("missing.onnx")))
        .hasMessageContaining("no such file");
    byte[] json = "{\"nodes\": []}".getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> OnnxModelIO.parse(json, "x.json")).isInstanceOf(ModelFormatException.class);
  }

  @Test
  void modelWithoutOutputsFails() {
    ModelProto noOutputs = model.toBuilder().setGraph(model.getGraph().toBuilder().clearOutput()).build();
    assertThatThrownBy(() -> OnnxModelIO.parse(noOutputs.toByteArray(), "m.onnx"))
        .isInstanceOf(ModelFormatException.class).hasMessage("m.onnx: model has no outputs");
  }

  @Test
  void initializersMustHoldTheirOwnBytes() {
    ModelProto.Builder external = model.toBuilder();
    external.getGraphBuilder().getInitializerBuilder(0)
        .setDataLocation(ai.onnx.proto.OnnxMl.TensorProto.DataLocation.EXTERNAL)
        .addExternalData(ai.onnx.proto.OnnxMl.StringStringEntryProto.newBuilder().setKey("location")
            .setValue("/dev/zero"));
    String name = model.getGraph().getInitializer(0).getName();
    assertThatThrownBy(() -> OnnxModelIO.parse(external.build().toByteArray(), "m.onnx"))
        .isInstanceOf(ModelFormatException.class)
        .hasMessage("m.onnx: initializer '" + name + "' keeps its data in an external file; Shoal takes"
            + " self-contained models (save the model with its weights inside the .onnx file)");

    ModelProto.Builder resized = model.toBuilder();
    var w = resized.getGraphBuilder().getInitializerBuilder(0);
    assertThat(w.getRawData().size()).isPositive();
    w.setDims(0, w.getDims(0) * 1000);
    assertThatThrownBy(() -> OnnxModelIO.parse(resized.build().toByteArray(), "m.onnx"))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageStartingWith("m.onnx: initializer '" + name + "' declares FLOAT[")
        .hasMessageEndingWith("but holds " + w.getRawData().size() + " bytes");
  }
}
