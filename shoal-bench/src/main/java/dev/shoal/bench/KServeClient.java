package dev.shoal.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.gateway.KServeDataType;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * The benchmarks' and the demo's client of one model served by the gateway: KServe v2 inference
 * over REST, as a user would call it, in one of two encodings of the same request: {@link
 * Encoding#JSON} (tensors as JSON arrays) or {@link Encoding#BINARY} (the binary tensor data
 * extension, as Triton's clients send by default: the JSON header's length in {@code
 * Inference-Header-Content-Length}, {@code binary_data_size} per input, every output asked as
 * binary with {@code binary_data_output}).
 *
 * <p>Requests go over keep-alive HTTP/1.1 connections on plain sockets (no client library threads
 * between the caller and the wire, so a bench measures the server, not the client). Thread-safe:
 * each call takes an idle connection or opens one, so concurrent callers get one connection each.
 */
public final class KServeClient implements AutoCloseable {

  /** How the request's tensors and the answer's outputs travel. */
  public enum Encoding {
    JSON,
    BINARY
  }

  /**
   * One request's outcome: the outputs by name and the response parameters ({@code shoal.plan},
   * ...), empty on failure; the time it took; and the error if any.
   */
  public record Answer(Map<String, TensorData> outputs, Map<String, String> parameters, double millis, String error) {

    static Answer failed(double millis, String error) {
      return new Answer(Map.of(), Map.of(), millis, error);
    }

    public boolean ok() {
      return error == null;
    }

    /** This answer, or its error as an exception (for a bench that stops at the first failure). */
    public Answer orThrow() throws IOException {
      if (!ok()) {
        throw new IOException(error);
      }
      return this;
    }

    /** The output {@code name}. */
    public TensorData output(String name) {
      TensorData t = outputs.get(name);
      if (t == null) {
        throw new IllegalStateException("the reply has no output '" + name + "'");
      }
      return t;
    }

    /** The predicted class: the {@code class} output (ensembles), else the arg-max of the first output; -1 on failure. */
    public int predictedClass() {
      if (!ok()) {
        return -1;
      }
      TensorData cls = outputs.get("class");
      if (cls != null) {
        return (int) ByteBuffer.wrap(cls.data()).order(ByteOrder.LITTLE_ENDIAN).getLong();
      }
      float[] scores = outputs.values().iterator().next().floats();
      int best = 0;
      for (int c = 1; c < scores.length; c++) {
        if (scores[c] > scores[best]) {
          best = c;
        }
      }
      return best;
    }

    /** Whether an ensemble answered without some members (its {@code degraded} output). */
    public boolean degraded() {
      TensorData d = ok() ? outputs.get("degraded") : null;
      return d != null && d.data()[0] != 0;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String HEADER_LENGTH = "inference-header-content-length";
  private static final int CONNECT_TIMEOUT_MS = 5_000;
  private static final int ANSWER_TIMEOUT_MS = 60_000;

  private final int port;
  private final String path;
  private final Encoding encoding;
  private final Deque<Connection> idle = new ConcurrentLinkedDeque<>();
  private volatile boolean closed;

  public KServeClient(int httpPort, String model, Encoding encoding) {
    this.port = httpPort;
    this.path = "/v2/models/" + model + "/infer";
    this.encoding = encoding;
  }

  /** Sends one request; a refusal or an I/O failure is an answer with its error, not an exception. */
  public Answer infer(TensorData input) {
    Request request = request(input);
    long start = System.nanoTime();
    Connection c = idle.pollFirst();
    boolean reused = c != null;
    try {
      while (true) {
        if (c == null) {
          c = new Connection(port);
        }
        try {
          Answer a = c.exchange(request, start);
          release(c);
          return a;
        } catch (IOException e) {
          c.close();
          // the gateway closes a connection idle past its limit: a reused one that got no byte of
          // an answer never reached it, so the request goes once more on a fresh connection
          if (!reused || c.answerStarted) {
            throw e;
          }
          c = null;
          reused = false;
        }
      }
    } catch (IOException e) {
      return Answer.failed((System.nanoTime() - start) / 1e6, "I/O: " + e.getMessage());
    }
  }

  private void release(Connection c) {
    if (c.keepAlive && !closed) {
      idle.addFirst(c);
    } else {
      c.close();
    }
    if (closed) {
      closeIdle();
    }
  }

  @Override
  public void close() {
    closed = true;
    closeIdle();
  }

  private void closeIdle() {
    for (Connection c = idle.pollFirst(); c != null; c = idle.pollFirst()) {
      c.close();
    }
  }

  /** One request's bytes: the HTTP head and the JSON, then the raw tensor (binary encoding; else empty). */
  private record Request(byte[] headAndJson, byte[] binary) {}

  private Request request(TensorData input) {
    String datatype = KServeDataType.of(input.dtype()).name();
    String described = "{\"inputs\":[{\"name\":\"" + input.name() + "\",\"shape\":"
        + Arrays.toString(input.shape()).replace(" ", "") + ",\"datatype\":\"" + datatype + "\"";
    byte[] json;
    byte[] binary;
    String type;
    if (encoding == Encoding.BINARY) {
      json = (described + ",\"parameters\":{\"binary_data_size\":" + input.data().length
          + "}}],\"parameters\":{\"binary_data_output\":true}}").getBytes(StandardCharsets.UTF_8);
      binary = input.data();
      type = "application/octet-stream\r\nInference-Header-Content-Length: " + json.length;
    } else {
      json = (described + ",\"data\":" + jsonValues(input) + "}]}").getBytes(StandardCharsets.UTF_8);
      binary = new byte[0];
      type = "application/json";
    }
    String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Type: " + type
        + "\r\nContent-Length: " + (json.length + binary.length) + "\r\n\r\n";
    ByteArrayOutputStream out = new ByteArrayOutputStream(head.length() + json.length);
    out.writeBytes(head.getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(json);
    return new Request(out.toByteArray(), binary); // the tensor is written as it is, not copied
  }

  /** An FP32 tensor's values as a flat JSON array (the JSON encoding sends FP32 inputs only). */
  private static String jsonValues(TensorData t) {
    if (t.dtype() != DType.FLOAT) {
      throw new IllegalArgumentException("input '" + t.name() + "' is " + t.dtype()
          + ": the JSON encoding sends FP32 inputs only, send it with the binary encoding");
    }
    float[] v = t.floats();
    StringBuilder s = new StringBuilder(v.length * 12 + 2).append('[');
    for (int i = 0; i < v.length; i++) {
      s.append(i == 0 ? "" : ",").append(v[i]);
    }
    return s.append(']').toString();
  }

  /** An output given as a JSON array, as the tensor of its datatype. */
  private static TensorData fromJson(JsonNode o) throws IOException {
    String name = o.get("name").asText();
    DType dtype = KServeDataType.parse(o.get("datatype").asText()).dtype();
    long[] shape = shape(o);
    JsonNode data = o.get("data");
    if (data == null || !data.isArray()) {
      throw new IOException("output '" + name + "' has neither binary nor JSON data in the answer");
    }
    if (dtype == DType.FLOAT16) {
      throw new IOException("output '" + name + "' is FP16 in JSON: this client reads FP16 only as binary");
    }
    ByteBuffer b = ByteBuffer.allocate(data.size() * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    for (JsonNode v : data) {
      switch (dtype) {
        case FLOAT -> b.putFloat((float) v.asDouble());
        case DOUBLE -> b.putDouble(v.asDouble());
        case INT8, UINT8 -> b.put((byte) v.asInt());
        case INT32 -> b.putInt(v.asInt());
        case INT64 -> b.putLong(v.asLong());
        case BOOL -> b.put((byte) (v.asBoolean() ? 1 : 0));
      }
    }
    return new TensorData(name, dtype, shape, b.array());
  }

  private static long[] shape(JsonNode o) {
    long[] shape = new long[o.get("shape").size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = o.get("shape").get(i).asLong();
    }
    return shape;
  }

  /** One keep-alive connection to the gateway, used by one caller at a time. */
  private static final class Connection {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    /** Whether a byte of the current answer arrived (then the request reached the gateway). */
    boolean answerStarted;
    /** Whether the gateway keeps the connection open after the current answer. */
    boolean keepAlive;

    Connection(int port) throws IOException {
      socket = new Socket();
      try {
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress("127.0.0.1", port), CONNECT_TIMEOUT_MS);
        socket.setSoTimeout(ANSWER_TIMEOUT_MS);
        in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
        out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
      } catch (IOException e) {
        socket.close();
        throw e;
      }
    }

    /** Sends a request and reads its answer; a non-200 status is an answer with the gateway's error. */
    Answer exchange(Request request, long start) throws IOException {
      answerStarted = false;
      out.write(request.headAndJson());
      out.write(request.binary());
      out.flush();
      String status = line();
      keepAlive = true;
      int contentLength = -1;
      int jsonLength = -1;
      for (String h = line(); !h.isEmpty(); h = line()) {
        int colon = h.indexOf(':');
        String name = h.substring(0, Math.max(0, colon)).trim().toLowerCase(Locale.ROOT);
        String value = h.substring(colon + 1).trim();
        switch (name) {
          case "content-length" -> contentLength = Integer.parseInt(value);
          case HEADER_LENGTH -> jsonLength = Integer.parseInt(value);
          case "connection" -> keepAlive = !value.equalsIgnoreCase("close");
          default -> { }
        }
      }
      if (contentLength < 0) {
        throw new IOException("answer without Content-Length (" + status + ")");
      }
      byte[] body = in.readNBytes(contentLength);
      if (body.length != contentLength) {
        throw new IOException("connection closed inside an answer");
      }
      double millis = (System.nanoTime() - start) / 1e6;
      String[] statusParts = status.split(" ", 3);
      if (statusParts.length < 2 || !statusParts[1].equals("200")) {
        return Answer.failed(millis, "HTTP " + (statusParts.length < 2 ? status : statusParts[1]) + " " + error(body));
      }
      JsonNode json = JSON.readTree(body, 0, jsonLength < 0 ? body.length : jsonLength);
      Map<String, String> parameters = new LinkedHashMap<>();
      json.path("parameters").fields().forEachRemaining(e -> parameters.put(e.getKey(), e.getValue().asText()));
      Map<String, TensorData> outputs = new LinkedHashMap<>();
      int at = Math.max(0, jsonLength);
      for (JsonNode o : json.path("outputs")) {
        int size = o.path("parameters").path("binary_data_size").asInt(-1);
        if (size < 0) {
          TensorData t = fromJson(o);
          outputs.put(t.name(), t);
          continue;
        }
        if (jsonLength < 0 || at + size > body.length) {
          throw new IOException("output '" + o.path("name").asText() + "' has no binary data in the answer");
        }
        String name = o.get("name").asText();
        outputs.put(name, new TensorData(name, KServeDataType.parse(o.get("datatype").asText()).dtype(), shape(o),
            Arrays.copyOfRange(body, at, at + size)));
        at += size;
      }
      return new Answer(outputs, parameters, millis, null);
    }

    /** The gateway's {@code error} text of a refusal, else the body as it came. */
    private static String error(byte[] body) {
      try {
        JsonNode e = JSON.readTree(body).path("error");
        if (e.isTextual()) {
          return e.asText();
        }
      } catch (IOException notJson) {
        // the body as text below
      }
      return new String(body, StandardCharsets.UTF_8).strip();
    }

    private String line() throws IOException {
      StringBuilder s = new StringBuilder();
      for (int c = in.read(); c != '\n'; c = in.read()) {
        if (c < 0) {
          throw new IOException("connection closed by the gateway");
        }
        answerStarted = true;
        if (c != '\r') {
          s.append((char) c);
        }
      }
      return s.toString();
    }

    void close() {
      try {
        socket.close();
      } catch (IOException e) {
        // dropped either way
      }
    }
  }
}
