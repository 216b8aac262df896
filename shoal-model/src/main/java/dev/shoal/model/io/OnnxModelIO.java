package dev.shoal.model.io;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.shoal.model.DType;
import dev.shoal.model.ModelFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.Set;

/**
 * Reads and writes ONNX models ({@code ai.onnx.proto.OnnxMl.ModelProto}, the protobuf classes of
 * tribuo-util-onnx: generated from onnx-ml.proto, depending only on protobuf-java). Reading checks
 * the structure Shoal relies on and fails with a one-line {@link ModelFormatException}: not
 * protobuf, truncated, no graph, no opset, no outputs, a node reading a tensor nothing defines, an
 * output nothing produces, a tensor produced twice.
 */
public final class OnnxModelIO {

  private OnnxModelIO() {}

  public static ModelProto read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ModelFormatException(file + ": no such file");
    } catch (IOException e) {
      throw new ModelFormatException(file + ": cannot read: " + e.getMessage(), e);
    }
    return parse(bytes, file.toString());
  }

  /** Parses and checks a serialized model; {@code where} names it in error messages. */
  public static ModelProto parse(byte[] bytes, String where) {
    if (bytes.length == 0) {
      throw new ModelFormatException(where + ": empty file, not an ONNX model");
    }
    ModelProto model;
    try {
      model = ModelProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new ModelFormatException(where + ": not an ONNX model or truncated ("
          + e.getMessage().replace('\n', ' ') + ")", e);
    }
    check(model, where);
    return model;
  }

  /** Checks the structure every Shoal model needs (see the class comment). */
  public static void check(ModelProto model, String where) {
    if (!model.hasGraph() || model.getIrVersion() <= 0) {
      throw new ModelFormatException(where + ": not an ONNX model (no graph or IR version)");
    }
    if (model.getOpsetImportCount() == 0) {
      throw new ModelFormatException(where + ": ONNX model declares no opset");
    }
    GraphProto g = model.getGraph();
    if (g.getOutputCount() == 0) {
      throw new ModelFormatException(where + ": model has no outputs");
    }
    Set<String> defined = new HashSet<>();
    for (TensorProto t : g.getInitializerList()) {
      checkInitializer(t, where);
      defined.add(t.getName());
    }
    for (ValueInfoProto in : g.getInputList()) {
      defined.add(in.getName());
    }
    for (NodeProto n : g.getNodeList()) {
      for (String in : n.getInputList()) {
        if (!in.isEmpty() && !defined.contains(in)) {
          throw new ModelFormatException(where + ": node '" + n.getName() + "' (" + n.getOpType()
              + ") reads tensor '" + in + "' that no input, initializer or earlier node defines"
              + " (truncated or not topologically sorted)");
        }
      }
      for (String out : n.getOutputList()) {
        if (!out.isEmpty() && !defined.add(out)) {
          throw new ModelFormatException(where + ": tensor '" + out + "' is defined twice (node '"
              + n.getName() + "')");
        }
      }
    }
    for (ValueInfoProto out : g.getOutputList()) {
      if (!defined.contains(out.getName())) {
        throw new ModelFormatException(where + ": graph output '" + out.getName()
            + "' is produced by no node (truncated?)");
      }
    }
  }

  /**
   * An initializer must carry its data in the file, as many bytes as its dimensions say: data in
   * an external file would make ONNX Runtime read (and allocate) whatever the path names, and a
   * size that disagrees with the bytes is a corrupt or edited model.
   */
  private static void checkInitializer(TensorProto t, String where) {
    String at = where + ": initializer '" + t.getName() + "'";
    if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
      throw new ModelFormatException(at + " keeps its data in an external file; Shoal takes self-contained"
          + " models (save the model with its weights inside the .onnx file)");
    }
    long elements = 1;
    for (long d : t.getDimsList()) {
      if (d < 0) {
        throw new ModelFormatException(at + " has a negative dimension " + t.getDimsList());
      }
      elements = d != 0 && elements > Long.MAX_VALUE / d ? Long.MAX_VALUE : elements * d;
    }
    if (t.getRawData().isEmpty()) {
      return; // typed fields (float_data, ...): protobuf parsing already bounded them by the file
    }
    DType dtype;
    try {
      dtype = DType.fromOnnx(t.getDataType());
    } catch (IllegalArgumentException unsupported) {
      return; // a type Shoal does not run; ONNX Runtime judges it
    }
    long want = elements > Long.MAX_VALUE / dtype.byteSize() ? Long.MAX_VALUE : elements * dtype.byteSize();
    if (want != t.getRawData().size()) {
      throw new ModelFormatException(at + " declares " + dtype + t.getDimsList() + " (" + want + " bytes) but holds "
          + t.getRawData().size() + " bytes");
    }
  }

  /** Writes the model (to a temporary file beside {@code file}, then moved into place). */
  public static void write(ModelProto model, Path file) {
    Path dir = file.toAbsolutePath().getParent();
    try {
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
      try {
        Files.write(tmp, model.toByteArray());
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
