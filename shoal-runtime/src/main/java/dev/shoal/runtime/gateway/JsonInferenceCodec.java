package dev.shoal.runtime.gateway;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The KServe v2 JSON body of an infer request and response. Tensor data is a flat (or nested)
 * row-major JSON array; the binary-data extension is not supported and is refused by name.
 */
final class JsonInferenceCodec {

  private static final ObjectMapper JSON = new ObjectMapper();

  private JsonInferenceCodec() {}

  static InferRequest decodeRequest(byte[] body, String model, String version) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      String where = e.getLocation() == null ? ""
          : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
      // Jackson names the opening bracket with a "[Source: ...]" locator; keep just its position
      String why = e.getOriginalMessage().replaceAll(
          " \\(start marker at \\[Source: .*?; line: (\\d+), column: (\\d+)\\]\\)", " (opened at line $1, column $2)");
      throw bad("malformed JSON" + where + ": " + why);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (root == null || !root.isObject()) {
      throw bad("the request body must be a JSON object with an 'inputs' array");
    }
    String id = optionalText(root, "id", "id");
    if (root.path("parameters").has("binary_data_output")) {
      throw bad("the binary tensor data extension is not supported: ask for JSON outputs");
    }
    JsonNode inputsNode = root.get("inputs");
    if (inputsNode == null || !inputsNode.isArray() || inputsNode.isEmpty()) {
      throw bad("missing 'inputs': a non-empty array of tensors");
    }
    List<TensorData> inputs = new ArrayList<>();
    for (int i = 0; i < inputsNode.size(); i++) {
      inputs.add(decodeTensor(inputsNode.get(i), "inputs[" + i + "]"));
    }
    List<String> requested = new ArrayList<>();
    JsonNode outputsNode = root.get("outputs");
    if (outputsNode != null) {
      if (!outputsNode.isArray()) {
        throw bad("'outputs' must be an array of {\"name\": ...}");
      }
      for (int i = 0; i < outputsNode.size(); i++) {
        JsonNode o = outputsNode.get(i);
        String where = "outputs[" + i + "]";
        if (!o.isObject()) {
          throw bad(where + " must be an object with a 'name'");
        }
        if (o.path("parameters").path("binary_data").asBoolean(false)) {
          throw bad(where + ": the binary tensor data extension is not supported");
        }
        requested.add(requiredText(o, "name", where));
      }
    }
    return new InferRequest(model, version, id, inputs, requested);
  }

  private static TensorData decodeTensor(JsonNode node, String where) {
    if (!node.isObject()) {
      throw bad(where + " must be an object with name, shape, datatype and data");
    }
    String name = requiredText(node, "name", where);
    String at = where + " ('" + name + "')";
    String datatypeName = requiredText(node, "datatype", at);
    KServeDataType datatype;
    try {
      datatype = KServeDataType.parse(datatypeName);
    } catch (IllegalArgumentException e) {
      throw bad(at + ": " + e.getMessage());
    }
    long[] shape = decodeShape(node.get("shape"), at);
    if (node.path("parameters").has("binary_data_size")) {
      throw bad(at + ": the binary tensor data extension is not supported; send 'data' as a JSON array");
    }
    JsonNode data = node.get("data");
    if (data == null || !data.isArray()) {
      throw bad(at + ": missing 'data': a row-major JSON array of the tensor's elements");
    }
    long count;
    try {
      count = TensorData.elementCount(shape);
    } catch (ArithmeticException e) {
      throw bad(at + ": shape " + Arrays.toString(shape) + " has too many elements");
    }
    List<JsonNode> elements = new ArrayList<>();
    flatten(data, elements, count, at);
    if (elements.size() != count) {
      throw bad(at + ": shape " + Arrays.toString(shape) + " needs " + count + " elements, 'data' has "
          + (elements.size() > count ? "more" : String.valueOf(elements.size())));
    }
    DType dtype = datatype.dtype();
    ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(count * dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < elements.size(); i++) {
      putElement(buf, datatype, elements.get(i), at + ".data[" + i + "]");
    }
    return new TensorData(name, dtype, shape, buf.array());
  }

  private static long[] decodeShape(JsonNode node, String at) {
    if (node == null || !node.isArray()) {
      throw bad(at + ": missing 'shape': an array of non-negative integers");
    }
    long[] shape = new long[node.size()];
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = node.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
        throw bad(at + ": shape[" + i + "] must be a non-negative integer, got " + d);
      }
      shape[i] = d.longValue();
    }
    return shape;
  }

  /** Collects the leaves of a (possibly nested) array, stopping once there are more than needed. */
  private static void flatten(JsonNode node, List<JsonNode> out, long limit, String at) {
    for (JsonNode child : node) {
      if (out.size() > limit) {
        return;
      }
      if (child.isArray()) {
        flatten(child, out, limit, at);
      } else if (child.isObject()) {
        throw bad(at + ": 'data' must hold numbers or booleans, found an object");
      } else {
        out.add(child);
      }
    }
  }

  private static void putElement(ByteBuffer buf, KServeDataType type, JsonNode v, String at) {
    switch (type) {
      case FP32 -> buf.putFloat((float) number(v, type, at));
      case FP64 -> buf.putDouble(number(v, type, at));
      case INT8 -> buf.put((byte) integer(v, type, Byte.MIN_VALUE, Byte.MAX_VALUE, at));
      case UINT8 -> buf.put((byte) integer(v, type, 0, 255, at));
      case INT32 -> buf.putInt((int) integer(v, type, Integer.MIN_VALUE, Integer.MAX_VALUE, at));
      case INT64 -> buf.putLong(integer(v, type, Long.MIN_VALUE, Long.MAX_VALUE, at));
      case BOOL -> {
        if (!v.isBoolean()) {
          throw bad(at + ": expected true or false for BOOL, got " + v);
        }
        buf.put((byte) (v.booleanValue() ? 1 : 0));
      }
      case FP16 -> throw bad(at + ": FP16 data is not accepted as JSON; send it over gRPC as raw_input_contents");
    }
  }

  private static double number(JsonNode v, KServeDataType type, String at) {
    if (!v.isNumber()) {
      throw bad(at + ": expected a number for " + type + ", got " + v);
    }
    return v.doubleValue();
  }

  private static long integer(JsonNode v, KServeDataType type, long min, long max, String at) {
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
      throw bad(at + ": expected an integer in [" + min + ", " + max + "] for " + type + ", got " + v);
    }
    return v.longValue();
  }

  static byte[] encodeResponse(InferOutcome outcome) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("model_name", outcome.model().name());
      g.writeStringField("model_version", outcome.model().version());
      if (!outcome.id().isEmpty()) {
        g.writeStringField("id", outcome.id());
      }
      if (!outcome.parameters().isEmpty()) {
        g.writeObjectFieldStart("parameters");
        for (var p : new java.util.TreeMap<>(outcome.parameters()).entrySet()) {
          g.writeStringField(p.getKey(), p.getValue());
        }
        g.writeEndObject();
      }
      g.writeArrayFieldStart("outputs");
      for (TensorData t : outcome.outputs()) {
        g.writeStartObject();
        g.writeStringField("name", t.name());
        g.writeStringField("datatype", KServeDataType.of(t.dtype()).name());
        g.writeArrayFieldStart("shape");
        for (long d : t.shape()) {
          g.writeNumber(d);
        }
        g.writeEndArray();
        g.writeArrayFieldStart("data");
        writeElements(g, t);
        g.writeEndArray();
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void writeElements(JsonGenerator g, TensorData t) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(t.data()).order(ByteOrder.LITTLE_ENDIAN);
    long n = t.elementCount();
    for (long i = 0; i < n; i++) {
      switch (t.dtype()) {
        case FLOAT -> g.writeNumber(buf.getFloat());
        case DOUBLE -> g.writeNumber(buf.getDouble());
        case INT8 -> g.writeNumber(buf.get());
        case UINT8 -> g.writeNumber(buf.get() & 0xff);
        case INT32 -> g.writeNumber(buf.getInt());
        case INT64 -> g.writeNumber(buf.getLong());
        case BOOL -> g.writeBoolean(buf.get() != 0);
        case FLOAT16 -> throw new InferenceException(
            Kind.BAD_INPUT, "output '" + t.name() + "' is FP16, which is only returned over gRPC as raw bytes");
      }
    }
  }

  static byte[] error(String message) {
    try {
      return JSON.writeValueAsBytes(Map.of("error", message));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] object(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String requiredText(JsonNode node, String field, String where) {
    JsonNode v = node.get(field);
    if (v == null || !v.isTextual() || v.asText().isEmpty()) {
      throw bad(where + ": missing '" + field + "' (a non-empty string)");
    }
    return v.asText();
  }

  private static String optionalText(JsonNode node, String field, String where) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return "";
    }
    if (!v.isTextual()) {
      throw bad("'" + where + "' must be a string");
    }
    return v.asText();
  }

  private static InferenceException bad(String message) {
    return new InferenceException(Kind.BAD_INPUT, message);
  }
}
