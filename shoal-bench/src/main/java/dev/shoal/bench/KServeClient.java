package dev.shoal.bench.availability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A KServe v2 REST client of one served model, one image per request, as a user would call the
 * gateway; it reads the predicted class from {@code class} (ensembles) or the arg-max of the
 * first output (a plain classifier), and {@code degraded} when the answer has it.
 */
final class GatewayClient {

  /** One request's outcome: the predicted class (-1 on failure), degraded, time, and the error if any. */
  record Answer(int predicted, boolean degraded, double millis, String error) {
    boolean ok() {
      return error == null;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final URI infer;
  private final String input;
  private final long[] shape;

  GatewayClient(int httpPort, String model, String input, long[] shape) {
    this.infer = URI.create("http://127.0.0.1:" + httpPort + "/v2/models/" + model + "/infer");
    this.input = input;
    this.shape = shape.clone();
  }

  Answer classify(float[] image) {
    StringBuilder body = new StringBuilder(image.length * 12 + 128);
    body.append("{\"inputs\":[{\"name\":\"").append(input).append("\",\"datatype\":\"FP32\",\"shape\":[");
    for (int i = 0; i < shape.length; i++) {
      body.append(i == 0 ? "" : ",").append(shape[i]);
    }
    body.append("],\"data\":[");
    for (int i = 0; i < image.length; i++) {
      body.append(i == 0 ? "" : ",").append(image[i]);
    }
    body.append("]}]}");
    HttpRequest request = HttpRequest.newBuilder(infer).timeout(Duration.ofSeconds(60))
        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
    long start = System.nanoTime();
    try {
      HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
      double millis = (System.nanoTime() - start) / 1e6;
      JsonNode reply = JSON.readTree(r.body());
      if (r.statusCode() != 200) {
        return new Answer(-1, false, millis, r.statusCode() + " " + reply.path("error").asText());
      }
      return new Answer(predicted(reply), degraded(reply), millis, null);
    } catch (IOException e) {
      return new Answer(-1, false, (System.nanoTime() - start) / 1e6, "I/O: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Answer(-1, false, (System.nanoTime() - start) / 1e6, "interrupted");
    }
  }

  private static int predicted(JsonNode reply) {
    JsonNode scores = null;
    for (JsonNode o : reply.get("outputs")) {
      if (o.get("name").asText().equals("class")) {
        return o.get("data").get(0).asInt();
      }
      if (scores == null) {
        scores = o.get("data");
      }
    }
    int best = 0;
    for (int c = 1; c < scores.size(); c++) {
      if (scores.get(c).asDouble() > scores.get(best).asDouble()) {
        best = c;
      }
    }
    return best;
  }

  private static boolean degraded(JsonNode reply) {
    for (JsonNode o : reply.get("outputs")) {
      if (o.get("name").asText().equals("degraded")) {
        return o.get("data").get(0).asBoolean();
      }
    }
    return false;
  }
}
