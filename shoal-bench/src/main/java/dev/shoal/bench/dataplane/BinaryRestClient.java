package dev.shoal.bench.dataplane;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.TensorData;
import dev.shoal.runtime.gateway.KServeDataType;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A KServe v2 REST client speaking the binary tensor data extension as Triton's clients do by
 * default: one keep-alive HTTP/1.1 connection, the request's JSON header followed by the raw input
 * bytes ({@code Inference-Header-Content-Length}, {@code binary_data_size}), every output asked as
 * binary ({@code binary_data_output}). Not thread-safe: one connection, one request at a time.
 */
final class BinaryRestClient implements AutoCloseable {

  /** One answer: its outputs by name and the response parameters (plan, epoch, ...). */
  record Reply(Map<String, TensorData> outputs, Map<String, String> parameters) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String HEADER_LENGTH = "inference-header-content-length";

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final String path;
  private final String host;

  BinaryRestClient(int port, String model) throws IOException {
    socket = new Socket();
    socket.setTcpNoDelay(true);
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(60_000);
    in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
    out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    path = "/v2/models/" + model + "/infer";
    host = "127.0.0.1:" + port;
  }

  /**
   * Sends one request and waits for its answer.
   *
   * @throws IOException on a broken connection or an answer that is not a 200 with binary outputs
   *     (its message names the status and the server's error)
   */
  Reply infer(TensorData input) throws IOException {
    byte[] header = ("{\"inputs\":[{\"name\":\"" + input.name() + "\",\"shape\":" + Arrays.toString(input.shape())
        .replace(" ", "") + ",\"datatype\":\"" + KServeDataType.of(input.dtype()).name() + "\",\"parameters\":{\"binary_data_size\":"
        + input.data().length + "}}],\"parameters\":{\"binary_data_output\":true}}").getBytes(StandardCharsets.UTF_8);
    String head = "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/octet-stream\r\n"
        + "Inference-Header-Content-Length: " + header.length + "\r\nContent-Length: "
        + (header.length + input.data().length) + "\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.write(header);
    out.write(input.data());
    out.flush();
    return read();
  }

  private Reply read() throws IOException {
    String status = line();
    int contentLength = -1;
    int jsonLength = -1;
    for (String h = line(); !h.isEmpty(); h = line()) {
      int colon = h.indexOf(':');
      String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = h.substring(colon + 1).trim();
      if (name.equals("content-length")) {
        contentLength = Integer.parseInt(value);
      } else if (name.equals(HEADER_LENGTH)) {
        jsonLength = Integer.parseInt(value);
      }
    }
    if (contentLength < 0) {
      throw new IOException("answer without Content-Length (" + status + ")");
    }
    byte[] body = in.readNBytes(contentLength);
    if (body.length != contentLength) {
      throw new IOException("connection closed inside an answer");
    }
    if (!status.startsWith("HTTP/1.1 200")) {
      throw new IOException(status + ": " + new String(body, StandardCharsets.UTF_8));
    }
    if (jsonLength < 0) {
      throw new IOException("answer without binary outputs: " + new String(body, StandardCharsets.UTF_8));
    }
    JsonNode json = JSON.readTree(body, 0, jsonLength);
    Map<String, String> parameters = new LinkedHashMap<>();
    json.path("parameters").fields().forEachRemaining(e -> parameters.put(e.getKey(), e.getValue().asText()));
    Map<String, TensorData> outputs = new LinkedHashMap<>();
    int at = jsonLength;
    for (JsonNode o : json.get("outputs")) {
      int size = o.path("parameters").path("binary_data_size").asInt(-1);
      if (size < 0 || at + size > body.length) {
        throw new IOException("output '" + o.path("name").asText() + "' has no binary data in the answer");
      }
      long[] shape = new long[o.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = o.get("shape").get(i).asLong();
      }
      outputs.put(o.get("name").asText(), new TensorData(o.get("name").asText(), KServeDataType.parse(o.get("datatype").asText()).dtype(),
          shape, Arrays.copyOfRange(body, at, at + size)));
      at += size;
    }
    return new Reply(outputs, parameters);
  }

  private String line() throws IOException {
    StringBuilder s = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("connection closed by the gateway");
      }
      if (c != '\r') {
        s.append((char) c);
      }
    }
    return s.toString();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
