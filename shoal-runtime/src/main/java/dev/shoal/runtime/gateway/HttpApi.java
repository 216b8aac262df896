package dev.shoal.runtime.gateway;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.model.TensorSpec;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The KServe v2 REST endpoints, {@code /metrics} and the status page. Every failure is answered
 * with its status and {@code {"error": "..."}}; nothing a client sends stops the server.
 */
final class HttpApi implements HttpHandler {

  private static final Logger LOG = Logger.getLogger(HttpApi.class.getName());
  private static final String JSON = "application/json";

  private final InferenceDispatcher dispatcher;
  private final RequestRecorder recorder;
  private final long maxRequestBytes;
  private final PrometheusTextFormatWriter metricsWriter = new PrometheusTextFormatWriter(false);

  HttpApi(InferenceDispatcher dispatcher, RequestRecorder recorder, long maxRequestBytes) {
    this.dispatcher = dispatcher;
    this.recorder = recorder;
    this.maxRequestBytes = maxRequestBytes;
  }

  /** A path the API knows, with the one method it takes. */
  private record Route(String method, Runnable action) {}

  @Override
  public void handle(HttpExchange ex) {
    try {
      Route route = route(ex);
      if (!route.method().equals(ex.getRequestMethod())) {
        ex.getResponseHeaders().set("Allow", route.method());
        throw new HttpError(405, "method " + ex.getRequestMethod() + " not allowed on " + ex.getRequestURI().getPath()
            + " (use " + route.method() + ")");
      }
      route.action().run();
    } catch (HttpError e) {
      sendError(ex, e.status, e.getMessage());
    } catch (InferenceException e) {
      sendError(ex, e.kind().httpStatus, e.getMessage());
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "request " + ex.getRequestMethod() + " " + ex.getRequestURI() + " failed", e);
      sendError(ex, 500, "internal error: " + e);
    } finally {
      ex.close();
    }
  }

  private Route route(HttpExchange ex) {
    String path = ex.getRequestURI().getPath();
    switch (path) {
      case "/" -> {
        return new Route("GET", () -> send(ex, 200, "text/html; charset=utf-8",
            StatusPage.render(dispatcher.backend(), recorder).getBytes(StandardCharsets.UTF_8)));
      }
      case "/metrics" -> {
        return new Route("GET", () -> sendMetrics(ex));
      }
      case "/v2/health/live" -> {
        return new Route("GET", () -> sendJson(ex, 200, Map.of("live", true)));
      }
      case "/v2/health/ready" -> {
        return new Route("GET", () -> {
          boolean ready = dispatcher.backend().ready();
          sendJson(ex, ready ? 200 : 503, Map.of("ready", ready));
        });
      }
      case "/v2", "/v2/" -> {
        return new Route("GET", () -> sendJson(ex, 200, Map.of(
            "name", Gateway.SERVER_NAME, "version", Gateway.SERVER_VERSION, "extensions", List.of())));
      }
      default -> {
        if (path.startsWith("/v2/models/")) {
          return modelRoute(ex, path.substring("/v2/models/".length()).split("/", -1));
        }
        throw new HttpError(404, "no such endpoint: " + path);
      }
    }
  }

  /** {@code {name}[/versions/{version}][/ready|/infer]}. */
  private Route modelRoute(HttpExchange ex, String[] parts) {
    String name = parts[0];
    String version = "";
    int rest = 1;
    if (parts.length >= 3 && parts[1].equals("versions")) {
      version = parts[2];
      rest = 3;
    }
    String action = parts.length == rest ? "" : parts[rest];
    if (name.isEmpty() || parts.length > rest + 1) {
      throw new HttpError(404, "no such endpoint: " + ex.getRequestURI().getPath());
    }
    String v = version;
    return switch (action) {
      case "" -> new Route("GET", () -> sendJson(ex, 200, metadata(dispatcher.model(name, v))));
      case "ready" -> new Route("GET", () -> {
        ServedModel m = dispatcher.model(name, v);
        boolean ready = dispatcher.backend().ready();
        sendJson(ex, ready ? 200 : 503, Map.of("name", m.name(), "ready", ready));
      });
      case "infer" -> new Route("POST", () -> infer(ex, name, v));
      default -> throw new HttpError(404, "no such endpoint: " + ex.getRequestURI().getPath());
    };
  }

  private void infer(HttpExchange ex, String name, String version) {
    String label = dispatcher.serves(name) ? name : RequestRecorder.UNKNOWN_MODEL;
    long start = recorder.started();
    InferenceException failure = null;
    try {
      byte[] body = readBody(ex);
      InferRequest request = JsonInferenceCodec.decodeRequest(body, name, version);
      InferOutcome outcome = InferenceDispatcher.await(dispatcher.infer(request));
      send(ex, 200, JSON, JsonInferenceCodec.encodeResponse(outcome));
    } catch (InferenceException e) {
      failure = e;
      throw e;
    } catch (RuntimeException e) {
      failure = new InferenceException(Kind.INTERNAL, e.toString(), e);
      throw e;
    } finally {
      recorder.finished(label, "http", start, failure);
    }
  }

  private byte[] readBody(HttpExchange ex) {
    String declared = ex.getRequestHeaders().getFirst("Content-Length");
    if (declared != null) {
      long length;
      try {
        length = Long.parseLong(declared.trim());
      } catch (NumberFormatException e) {
        throw new InferenceException(Kind.BAD_INPUT, "bad Content-Length header '" + declared + "'");
      }
      if (length > maxRequestBytes) {
        if (length <= 2 * maxRequestBytes) {
          discard(ex, length);
        }
        throw tooLarge(length + " bytes");
      }
    }
    try (InputStream in = ex.getRequestBody()) {
      byte[] body = in.readNBytes((int) maxRequestBytes + 1);
      if (body.length > maxRequestBytes) {
        discard(ex, maxRequestBytes);
        throw tooLarge("more than " + maxRequestBytes + " bytes");
      }
      return body;
    } catch (IOException e) {
      throw new InferenceException(Kind.BAD_INPUT, "could not read the request body: " + e.getMessage());
    }
  }

  /**
   * Reads and drops up to {@code bytes} of an oversized body before the 413 goes out: closing a
   * connection with unread data resets it, and the client would lose the response. Bodies beyond
   * twice the limit are not read; their senders may see a reset instead.
   */
  private static void discard(HttpExchange ex, long bytes) {
    try {
      ex.getRequestBody().skipNBytes(bytes);
    } catch (IOException e) {
      LOG.log(Level.FINE, "client went away while its oversized body was dropped", e);
    }
  }

  private InferenceException tooLarge(String size) {
    return new InferenceException(
        Kind.TOO_LARGE, "request body of " + size + " exceeds the limit of " + maxRequestBytes + " bytes");
  }

  private static Map<String, Object> metadata(ServedModel m) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("name", m.name());
    out.put("versions", List.of(m.version()));
    out.put("platform", m.platform());
    out.put("inputs", m.inputs().stream().map(HttpApi::tensorMetadata).toList());
    out.put("outputs", m.outputs().stream().map(HttpApi::tensorMetadata).toList());
    return out;
  }

  private static Map<String, Object> tensorMetadata(TensorSpec s) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("name", s.name());
    out.put("datatype", KServeDataType.of(s.dtype()).name());
    out.put("shape", s.shape());
    return out;
  }

  private void sendMetrics(HttpExchange ex) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      metricsWriter.write(out, PrometheusRegistry.defaultRegistry.scrape());
    } catch (IOException e) {
      throw new IllegalStateException("could not write metrics", e);
    }
    send(ex, 200, PrometheusTextFormatWriter.CONTENT_TYPE, out.toByteArray());
  }

  private static void sendJson(HttpExchange ex, int status, Object value) {
    send(ex, status, JSON, JsonInferenceCodec.object(value));
  }

  private static void sendError(HttpExchange ex, int status, String message) {
    if (ex.getResponseCode() != -1) {
      return; // headers already went out; the client sees a cut response
    }
    if (status == 413) {
      // the unread body may be large: do not keep the connection for another request
      ex.getResponseHeaders().set("Connection", "close");
    }
    send(ex, status, JSON, JsonInferenceCodec.error(message));
  }

  private static void send(HttpExchange ex, int status, String contentType, byte[] body) {
    try {
      ex.getResponseHeaders().set("Content-Type", contentType);
      ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    } catch (IOException e) {
      LOG.log(Level.FINE, "client went away before the response was sent", e);
    }
  }

  /** A failure of the HTTP layer itself (no such path, wrong method). */
  private static final class HttpError extends RuntimeException {
    final int status;

    HttpError(int status, String message) {
      super(message);
      this.status = status;
    }
  }
}
