package dev.shoal.runtime.gateway;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.gateway.InferRequest.BinaryOutputs;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.ByteBufInputStream;
import io.grpc.netty.shaded.io.netty.buffer.ByteBufOutputStream;
import io.grpc.netty.shaded.io.netty.buffer.CompositeByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The KServe v2 REST body of an infer request and response: JSON, optionally followed by binary
 * tensor data (the binary tensor data extension: the JSON part's length in the {@code
 * Inference-Header-Content-Length} header, {@code binary_data_size} per binary input, {@code
 * binary_data} per output or {@code binary_data_output} for all).
 *
 * <p>Requests are read with Jackson's streaming parser straight into each tensor's buffer: no tree
 * of the body is built, a tensor's buffer is allocated only once its name, type and shape passed
 * the {@link TensorCheck} and the request's decoded-bytes limit, and nesting deeper than the
 * shape's rank is refused, so a body's cost in memory is bounded by the limits, not by its shape.
 */
final class JsonInferenceCodec {

  /** Response header that gives the length of the JSON part of a body with binary data. */
  static final String HEADER_LENGTH = "Inference-Header-Content-Length";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonFactory STREAMING = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder()
          .maxNestingDepth(64).maxStringLength(1 << 20).maxNumberLength(1000).build())
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .build();

  private JsonInferenceCodec() {}

  /**
   * Decodes a request body.
   *
   * @param body the whole body; only read, never released
   * @param headerLength length of the JSON part when binary data follows it, -1 when the whole
   *     body is JSON
   * @param maxDecodedBytes most bytes the request's tensors may take together (TOO_LARGE beyond)
   * @param check called for each input once its name, type and shape are known
   */
  static InferRequest decodeRequest(ByteBuf body, int headerLength, String model, String version,
      long maxDecodedBytes, TensorCheck check) {
    int bodyLength = body.readableBytes();
    if (headerLength > bodyLength) {
      throw bad(HEADER_LENGTH + " is " + headerLength + " but the body has only " + bodyLength + " bytes");
    }
    int jsonLength = headerLength < 0 ? bodyLength : headerLength;
    RequestReader reader = new RequestReader(body, jsonLength, maxDecodedBytes, check);
    try {
      reader.read();
    } catch (JsonProcessingException e) {
      throw malformed(e);
    } catch (IOException e) {
      // the body is in memory: any other read failure is the bytes' fault (found by fuzzing: a body
      // starting with zero bytes is taken for UTF-32 and fails to decode as such)
      throw bad("the request body is not UTF-8 JSON: " + e.getMessage());
    }
    List<TensorData> inputs = reader.binaryPart(headerLength >= 0);
    return new InferRequest(model, version, reader.id, inputs, reader.requested,
        new BinaryOutputs(reader.binaryByDefault, reader.binaryPerOutput));
  }

  private static InferenceException malformed(JsonProcessingException e) {
    if (e instanceof StreamConstraintsException) {
      return bad("the request JSON exceeds a limit: " + e.getOriginalMessage());
    }
    JsonLocation at = e.getLocation();
    String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    // Jackson names the opening bracket with a "[Source: ...]" locator; keep just its position
    String why = e.getOriginalMessage().replaceAll(
        " \\(start marker at \\[Source: .*?; line: (\\d+), column: (\\d+)\\]\\)", " (opened at line $1, column $2)");
    return bad("malformed JSON" + where + ": " + why);
  }

  /** An input as far as the JSON has described it. */
  private static final class InputTensor {
    final String at;
    String name;
    KServeDataType datatype;
    long[] shape;
    long binarySize = -1;
    long dataOffset = -1;
    byte[] data;

    InputTensor(String at) {
      this.at = at;
    }

    String where() {
      return name == null ? at : at + " ('" + name + "')";
    }

    boolean described() {
      return name != null && datatype != null && shape != null;
    }
  }

  /** One pass over the JSON part, then the binary part. */
  private static final class RequestReader {
    final ByteBuf body;
    final int jsonLength;
    final long maxDecodedBytes;
    final TensorCheck check;
    final List<InputTensor> inputs = new ArrayList<>();
    final List<String> requested = new ArrayList<>();
    final Map<String, Boolean> binaryPerOutput = new LinkedHashMap<>();
    String id = "";
    boolean binaryByDefault;
    long decodedBytes;

    RequestReader(ByteBuf body, int jsonLength, long maxDecodedBytes, TensorCheck check) {
      this.body = body;
      this.jsonLength = jsonLength;
      this.maxDecodedBytes = maxDecodedBytes;
      this.check = check;
    }

    JsonParser parser(int from) throws IOException {
      return STREAMING.createParser((InputStream) new ByteBufInputStream(body.slice(body.readerIndex() + from, jsonLength - from)));
    }

    void read() throws IOException {
      boolean sawInputs = false;
      try (JsonParser p = parser(0)) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          throw bad("the request body must be a JSON object with an 'inputs' array");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          JsonToken value = p.nextToken();
          switch (field) {
            case "id" -> {
              if (value != JsonToken.VALUE_NULL && value != JsonToken.VALUE_STRING) {
                throw bad("'id' must be a string");
              }
              id = value == JsonToken.VALUE_NULL ? "" : p.getText();
            }
            case "parameters" -> readRequestParameters(p);
            case "inputs" -> {
              sawInputs = true;
              readInputs(p);
            }
            case "outputs" -> readOutputs(p);
            default -> p.skipChildren();
          }
        }
        rejectTrailing(p);
      }
      if (!sawInputs || inputs.isEmpty()) {
        throw bad("missing 'inputs': a non-empty array of tensors");
      }
      for (InputTensor t : inputs) {
        if (t.dataOffset >= 0) {
          try (JsonParser p = parser((int) t.dataOffset)) {
            p.nextToken();
            t.data = readData(p, t);
          }
        }
      }
    }

    void rejectTrailing(JsonParser p) throws IOException {
      JsonToken next;
      try {
        next = p.nextToken();
      } catch (JsonProcessingException e) {
        next = JsonToken.NOT_AVAILABLE;
      }
      if (next != null) {
        JsonLocation at = p.currentLocation();
        throw bad("unexpected content after the JSON object (line " + at.getLineNr() + ", column "
            + at.getColumnNr() + ")");
      }
    }

    void readRequestParameters(JsonParser p) throws IOException {
      if (p.currentToken() != JsonToken.START_OBJECT) {
        throw bad("'parameters' must be an object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (name.equals("binary_data_output")) {
          binaryByDefault = bool(v, "parameters.binary_data_output");
        } else {
          p.skipChildren();
        }
      }
    }

    void readInputs(JsonParser p) throws IOException {
      if (p.currentToken() != JsonToken.START_ARRAY) {
        throw bad("missing 'inputs': a non-empty array of tensors");
      }
      while (p.nextToken() != JsonToken.END_ARRAY) {
        InputTensor t = new InputTensor("inputs[" + inputs.size() + "]");
        if (p.currentToken() != JsonToken.START_OBJECT) {
          throw bad(t.at + " must be an object with name, shape, datatype and data");
        }
        inputs.add(t);
        readInput(p, t);
      }
    }

    void readInput(JsonParser p, InputTensor t) throws IOException {
      boolean sawData = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken v = p.nextToken();
        switch (field) {
          case "name" -> t.name = text(p, v, t.at, "name");
          case "datatype" -> {
            String name = text(p, v, t.where(), "datatype");
            try {
              t.datatype = KServeDataType.parse(name);
            } catch (IllegalArgumentException e) {
              throw bad(t.where() + ": " + e.getMessage());
            }
          }
          case "shape" -> t.shape = readShape(p, t.where());
          case "parameters" -> readInputParameters(p, t);
          case "data" -> {
            sawData = true;
            if (v != JsonToken.START_ARRAY) {
              throw bad(t.where() + ": missing 'data': a row-major JSON array of the tensor's elements");
            }
            if (t.described()) {
              t.data = readData(p, t);
            } else { // name, shape or datatype come later: read the data once they are known
              t.dataOffset = p.currentTokenLocation().getByteOffset();
              p.skipChildren();
            }
          }
          default -> p.skipChildren();
        }
      }
      if (t.name == null) {
        throw bad(t.at + ": missing 'name' (a non-empty string)");
      }
      if (t.shape == null) {
        throw bad(t.where() + ": missing 'shape': an array of non-negative integers");
      }
      if (t.datatype == null) {
        throw bad(t.where() + ": missing 'datatype' (a non-empty string)");
      }
      if (sawData && t.binarySize >= 0) {
        throw bad(t.where() + ": has both 'data' and parameters.binary_data_size; send one or the other");
      }
      if (!sawData && t.binarySize < 0) {
        throw bad(t.where() + ": missing 'data': a row-major JSON array of the tensor's elements");
      }
      if (t.dataOffset >= 0 || t.binarySize >= 0) {
        accept(t); // checked now, decoded after the JSON part
      }
    }

    void readInputParameters(JsonParser p, InputTensor t) throws IOException {
      if (p.currentToken() != JsonToken.START_OBJECT) {
        throw bad(t.where() + ": 'parameters' must be an object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (name.equals("binary_data_size")) {
          if (v != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
              || p.getLongValue() < 0) {
            throw bad(t.where() + ": parameters.binary_data_size must be a non-negative integer");
          }
          t.binarySize = p.getLongValue();
        } else {
          p.skipChildren();
        }
      }
    }

    long[] readShape(JsonParser p, String where) throws IOException {
      if (p.currentToken() != JsonToken.START_ARRAY) {
        throw bad(where + ": missing 'shape': an array of non-negative integers");
      }
      List<Long> dims = new ArrayList<>();
      while (p.nextToken() != JsonToken.END_ARRAY) {
        JsonToken d = p.currentToken();
        if (d != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
            || p.getLongValue() < 0) {
          throw bad(where + ": shape[" + dims.size() + "] must be a non-negative integer, got "
              + (d.isStructStart() ? "an " + (d == JsonToken.START_ARRAY ? "array" : "object") : p.getText()));
        }
        if (dims.size() == 64) {
          throw bad(where + ": shape has more than 64 dimensions");
        }
        dims.add(p.getLongValue());
      }
      return dims.stream().mapToLong(Long::longValue).toArray();
    }

    /** Checks a described input and counts its bytes against the request's limit; returns its bytes. */
    int accept(InputTensor t) {
      long count;
      long bytes;
      try {
        count = TensorData.elementCount(t.shape);
        bytes = Math.multiplyExact(count, (long) t.datatype.dtype().byteSize());
      } catch (ArithmeticException e) {
        throw bad(t.where() + ": shape " + Arrays.toString(t.shape) + " has too many elements");
      }
      check.check(t.name, t.datatype.dtype(), t.shape);
      decodedBytes += bytes;
      if (decodedBytes > maxDecodedBytes) {
        throw new InferenceException(Kind.TOO_LARGE, t.where() + ": shape " + Arrays.toString(t.shape) + " of "
            + t.datatype + " takes the request's tensors to " + decodedBytes + " bytes, over the limit of "
            + maxDecodedBytes);
      }
      return (int) bytes;
    }

    /** Reads a (possibly nested) row-major data array, the parser on its '[', into a new buffer. */
    byte[] readData(JsonParser p, InputTensor t) throws IOException {
      if (t.datatype == KServeDataType.FP16) {
        throw bad(t.where() + ": FP16 data is not accepted as JSON; send it as binary data "
            + "(parameters.binary_data_size) or over gRPC as raw_input_contents");
      }
      int bytes = t.dataOffset >= 0 ? (int) (TensorData.elementCount(t.shape) * t.datatype.dtype().byteSize())
          : accept(t);
      long count = bytes / t.datatype.dtype().byteSize();
      int maxDepth = Math.max(1, t.shape.length);
      ByteBuffer buf = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
      String where = t.where();
      long index = 0;
      int depth = 1;
      while (depth > 0) {
        JsonToken token = p.nextToken();
        if (token == null) {
          throw bad(where + ": 'data' ends early");
        }
        switch (token) {
          case START_ARRAY -> {
            if (++depth > maxDepth) {
              throw bad(where + ": 'data' is nested deeper than the shape's " + maxDepth + " dimension(s)");
            }
          }
          case END_ARRAY -> depth--;
          case START_OBJECT -> throw bad(where + ": 'data' must hold numbers or booleans, found an object");
          default -> {
            if (index >= count) {
              throw bad(where + ": shape " + Arrays.toString(t.shape) + " needs " + count
                  + " elements, 'data' has more");
            }
            putElement(buf, t.datatype, p, token, where + ".data[" + index + "]");
            index++;
          }
        }
      }
      if (index != count) {
        throw bad(where + ": shape " + Arrays.toString(t.shape) + " needs " + count + " elements, 'data' has " + index);
      }
      return buf.array();
    }

    void readOutputs(JsonParser p) throws IOException {
      if (p.currentToken() != JsonToken.START_ARRAY) {
        throw bad("'outputs' must be an array of {\"name\": ...}");
      }
      while (p.nextToken() != JsonToken.END_ARRAY) {
        String where = "outputs[" + requested.size() + "]";
        if (p.currentToken() != JsonToken.START_OBJECT) {
          throw bad(where + " must be an object with a 'name'");
        }
        String name = null;
        Boolean binary = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          JsonToken v = p.nextToken();
          if (field.equals("name")) {
            name = text(p, v, where, "name");
          } else if (field.equals("parameters")) {
            if (v != JsonToken.START_OBJECT) {
              throw bad(where + ": 'parameters' must be an object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String param = p.currentName();
              JsonToken pv = p.nextToken();
              if (param.equals("binary_data")) {
                binary = bool(pv, where + ".parameters.binary_data");
              } else {
                p.skipChildren();
              }
            }
          } else {
            p.skipChildren();
          }
        }
        if (name == null) {
          throw bad(where + ": missing 'name' (a non-empty string)");
        }
        requested.add(name);
        if (binary != null) {
          binaryPerOutput.put(name, binary);
        }
      }
    }

    /** The inputs in order, binary ones sliced from the bytes after the JSON part. */
    List<TensorData> binaryPart(boolean hasBinaryPart) {
      long offset = jsonLength;
      List<TensorData> out = new ArrayList<>(inputs.size());
      for (InputTensor t : inputs) {
        if (t.binarySize >= 0) {
          if (!hasBinaryPart) {
            throw bad(t.where() + ": parameters.binary_data_size needs the " + HEADER_LENGTH
                + " header (the length of the JSON part)");
          }
          long needed = TensorData.elementCount(t.shape) * t.datatype.dtype().byteSize();
          if (t.binarySize != needed) {
            throw bad(t.where() + ": parameters.binary_data_size is " + t.binarySize + " but shape "
                + Arrays.toString(t.shape) + " of " + t.datatype + " needs " + needed + " bytes");
          }
          if (offset + needed > body.readableBytes()) {
            throw bad(t.where() + ": its " + needed + " bytes of binary data run past the end of the body ("
                + (body.readableBytes() - offset) + " left)");
          }
          byte[] data = new byte[(int) needed];
          body.getBytes(body.readerIndex() + (int) offset, data);
          offset += needed;
          t.data = data;
        }
        out.add(new TensorData(t.name, t.datatype.dtype(), t.shape, t.data));
      }
      if (offset != body.readableBytes()) {
        throw bad((body.readableBytes() - offset) + " bytes after the JSON part belong to no input"
            + " (each binary input gives its parameters.binary_data_size)");
      }
      return out;
    }
  }

  private static void putElement(ByteBuffer buf, KServeDataType type, JsonParser p, JsonToken token, String at)
      throws IOException {
    switch (type) {
      case FP32 -> buf.putFloat((float) number(p, token, type, at));
      case FP64 -> buf.putDouble(number(p, token, type, at));
      case INT8 -> buf.put((byte) integer(p, token, type, Byte.MIN_VALUE, Byte.MAX_VALUE, at));
      case UINT8 -> buf.put((byte) integer(p, token, type, 0, 255, at));
      case INT32 -> buf.putInt((int) integer(p, token, type, Integer.MIN_VALUE, Integer.MAX_VALUE, at));
      case INT64 -> buf.putLong(integer(p, token, type, Long.MIN_VALUE, Long.MAX_VALUE, at));
      case BOOL -> {
        if (token != JsonToken.VALUE_TRUE && token != JsonToken.VALUE_FALSE) {
          throw bad(at + ": expected true or false for BOOL, got " + p.getText());
        }
        buf.put((byte) (token == JsonToken.VALUE_TRUE ? 1 : 0));
      }
      case FP16 -> throw new IllegalStateException("unreachable: FP16 JSON data is refused before");
    }
  }

  private static double number(JsonParser p, JsonToken token, KServeDataType type, String at) throws IOException {
    if (token != JsonToken.VALUE_NUMBER_INT && token != JsonToken.VALUE_NUMBER_FLOAT) {
      throw bad(at + ": expected a number for " + type + ", got " + p.getText());
    }
    return p.getDoubleValue();
  }

  private static long integer(JsonParser p, JsonToken token, KServeDataType type, long min, long max, String at)
      throws IOException {
    if (token != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
        || p.getLongValue() < min || p.getLongValue() > max) {
      throw bad(at + ": expected an integer in [" + min + ", " + max + "] for " + type + ", got " + p.getText());
    }
    return p.getLongValue();
  }

  private static String text(JsonParser p, JsonToken v, String where, String field) throws IOException {
    if (v != JsonToken.VALUE_STRING || p.getText().isEmpty()) {
      p.skipChildren();
      throw bad(where + ": missing '" + field + "' (a non-empty string)");
    }
    return p.getText();
  }

  private static boolean bool(JsonToken v, String where) {
    if (v != JsonToken.VALUE_TRUE && v != JsonToken.VALUE_FALSE) {
      throw bad(where + " must be true or false");
    }
    return v == JsonToken.VALUE_TRUE;
  }

  /**
   * The response body: JSON with the outputs asked as binary data following it. Binary outputs are
   * not copied: their arrays are wrapped into the body.
   *
   * @return the body and, when it has binary data, the JSON part's length (else -1)
   */
  static EncodedResponse encodeResponse(InferOutcome outcome, BinaryOutputs binary) {
    ByteBuf json = Unpooled.buffer(256);
    List<ByteBuf> binaries = new ArrayList<>();
    try (JsonGenerator g = JSON.getFactory().createGenerator((java.io.OutputStream) new ByteBufOutputStream(json))) {
      g.writeStartObject();
      g.writeStringField("model_name", outcome.model().name());
      g.writeStringField("model_version", outcome.model().version());
      if (!outcome.id().isEmpty()) {
        g.writeStringField("id", outcome.id());
      }
      if (!outcome.parameters().isEmpty()) {
        g.writeObjectFieldStart("parameters");
        for (var p : new TreeMap<>(outcome.parameters()).entrySet()) {
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
        if (binary.binary(t.name())) {
          g.writeObjectFieldStart("parameters");
          g.writeNumberField("binary_data_size", t.data().length);
          g.writeEndObject();
          binaries.add(Unpooled.wrappedBuffer(t.data()));
        } else {
          g.writeArrayFieldStart("data");
          writeElements(g, t);
          g.writeEndArray();
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      json.release();
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      json.release();
      throw e;
    }
    if (binaries.isEmpty()) {
      return new EncodedResponse(json, -1);
    }
    int headerLength = json.readableBytes();
    CompositeByteBuf all = Unpooled.compositeBuffer(binaries.size() + 1);
    all.addComponent(true, json);
    binaries.forEach(b -> all.addComponent(true, b));
    return new EncodedResponse(all, headerLength);
  }

  /** A response body, and the length of its JSON part when binary data follows (else -1). */
  record EncodedResponse(ByteBuf body, int headerLength) {}

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
        case FLOAT16 -> throw new InferenceException(Kind.BAD_INPUT, "output '" + t.name()
            + "' is FP16, which is only returned as binary data: ask for it with parameters.binary_data");
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

  private static InferenceException bad(String message) {
    return new InferenceException(Kind.BAD_INPUT, message);
  }
}
