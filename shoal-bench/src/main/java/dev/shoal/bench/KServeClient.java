package dev.shoal.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.TensorData;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;

/**
 * The benchmarks' and the demo's client of one model served by the gateway: KServe v2 inference
 * over REST with JSON bodies, one float tensor per request, as a user would call it. Thread-safe:
 * one client serves every load-generating thread.
 */
public final class KServeClient {

  /** One request's outcome: the reply (null on failure), the time it took, and the error if any. */
  public record Answer(JsonNode reply, double millis, String error) {
    public boolean ok() {
      return error == null;
    }

    /** The output {@code name} as a float tensor of the shape the reply gives. */
    public TensorData floats(String name) {
      JsonNode o = output(name);
      if (o == null) {
        throw new IllegalStateException("the reply has no output '" + name + "'");
      }
      long[] shape = new long[o.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = o.get("shape").get(i).asLong();
      }
      JsonNode data = o.get("data");
      float[] v = new float[data.size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) data.get(i).asDouble();
      }
      return TensorData.ofFloats(name, shape, v);
    }

    /** The predicted class: the {@code class} output (ensembles), else the arg-max of the first output; -1 on failure. */
    public int predictedClass() {
      if (!ok()) {
        return -1;
      }
      JsonNode cls = output("class");
      if (cls != null) {
        return cls.get("data").get(0).asInt();
      }
      JsonNode scores = reply.get("outputs").get(0).get("data");
      int best = 0;
      for (int c = 1; c < scores.size(); c++) {
        if (scores.get(c).asDouble() > scores.get(best).asDouble()) {
          best = c;
        }
      }
      return best;
    }

    /** Whether an ensemble answered without some members (its {@code degraded} output). */
    public boolean degraded() {
      JsonNode d = ok() ? output("degraded") : null;
      return d != null && d.get("data").get(0).asBoolean();
    }

    private JsonNode output(String name) {
      for (JsonNode o : reply.get("outputs")) {
        if (o.get("name").asText().equals(name)) {
          return o;
        }
      }
      return null;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final URI infer;

  public KServeClient(int httpPort, String model) {
    this.infer = URI.create("http://127.0.0.1:" + httpPort + "/v2/models/" + model + "/infer");
  }

  /** Sends one FP32 tensor; a refusal or an I/O failure is an answer with its error, not an exception. */
  public Answer infer(TensorData input) {
    HttpRequest request = HttpRequest.newBuilder(infer).timeout(TIMEOUT).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body(input))).build();
    long start = System.nanoTime();
    try {
      HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
      double millis = (System.nanoTime() - start) / 1e6;
      JsonNode reply = JSON.readTree(r.body());
      if (r.statusCode() != 200) {
        return new Answer(null, millis, "HTTP " + r.statusCode() + " " + reply.path("error").asText());
      }
      return new Answer(reply, millis, null);
    } catch (IOException e) {
      return new Answer(null, (System.nanoTime() - start) / 1e6, "I/O: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Answer(null, (System.nanoTime() - start) / 1e6, "interrupted");
    }
  }

  private static String body(TensorData t) {
    float[] v = t.floats();
    StringBuilder b = new StringBuilder(v.length * 12 + 128);
    b.append("{\"inputs\":[{\"name\":\"").append(t.name()).append("\",\"datatype\":\"FP32\",\"shape\":")
        .append(Arrays.toString(t.shape()).replace(" ", "")).append(",\"data\":[");
    for (int i = 0; i < v.length; i++) {
      b.append(i == 0 ? "" : ",").append(v[i]);
    }
    return b.append("]}]}").toString();
  }
}
