package dev.shoal.runtime.gateway;

import dev.shoal.model.TensorSpec;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import dev.shoal.runtime.serving.ServedModel;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The KServe v2 REST endpoints, {@code /metrics} and the status page, behind {@link RestServer}.
 * Every failure is answered with its status and {@code {"error": "..."}}; nothing a client sends
 * stops the server. Cheap answers (health, metadata) are made on the caller's thread; request
 * decoding and response encoding run on the worker pool, and the inference itself on the backend,
 * so no thread waits on a model.
 */
final class HttpApi {

  private static final Logger LOG = Logger.getLogger(HttpApi.class.getName());
  private static final String JSON = RestResponse.JSON;

  private final InferenceDispatcher dispatcher;
  private final RequestRecorder recorder;
  private final Executor workers;
  private final PrometheusTextFormatWriter metricsWriter = new PrometheusTextFormatWriter(false);

  HttpApi(InferenceDispatcher dispatcher, RequestRecorder recorder, Executor workers) {
    this.dispatcher = dispatcher;
    this.recorder = recorder;
    this.workers = workers;
  }

  /** A path the API knows, with the one method it takes. */
  private record Route(String method, Supplier<CompletableFuture<RestResponse>> action) {
    static Route now(String method, Supplier<RestResponse> answer) {
      return new Route(method, () -> CompletableFuture.completedFuture(answer.get()));
    }
  }

  /** The answer to one request; cancelling it (the client went away) cancels its inference. */
  CompletableFuture<RestResponse> handle(RestRequest request) {
    try {
      Route route = route(request);
      if (!route.method().equals(request.method())) {
        return CompletableFuture.completedFuture(RestResponse.error(405, "method " + request.method()
            + " not allowed on " + request.path() + " (use " + route.method() + ")").withHeader("Allow", route.method()));
      }
      return route.action().get();
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(failure(request, e));
    }
  }

  /** The response for a failure of any kind, logging the ones that are the server's fault. */
  static RestResponse failure(RestRequest request, Throwable t) {
    if (t instanceof HttpError e) {
      return RestResponse.error(e.status, e.getMessage());
    }
    InferenceException e = InferenceDispatcher.asInferenceException(t);
    if (e.kind() == Kind.INTERNAL) {
      LOG.log(Level.WARNING, "request " + request.method() + " " + request.path() + " failed", t);
    }
    return RestResponse.error(e.kind().httpStatus, e.getMessage());
  }

  /** A failure that escaped the API's own handling: a 500 that names it, logged. */
  static RestResponse unexpected(RestRequest request, Throwable t) {
    return failure(request, t);
  }

  private Route route(RestRequest request) {
    String path = request.path();
    switch (path) {
      case "/" -> {
        return Route.now("GET", () -> RestResponse.of(200, "text/html; charset=utf-8",
            StatusPage.render(dispatcher.backend(), recorder).getBytes(StandardCharsets.UTF_8)));
      }
      case "/metrics" -> {
        return Route.now("GET", this::metrics);
      }
      case "/v2/health/live" -> {
        return Route.now("GET", () -> RestResponse.json(200, Map.of("live", true)));
      }
      case "/v2/health/ready" -> {
        return Route.now("GET", () -> {
          boolean ready = dispatcher.backend().ready();
          return RestResponse.json(ready ? 200 : 503, Map.of("ready", ready));
        });
      }
      case "/v2", "/v2/" -> {
        return Route.now("GET", () -> RestResponse.json(200, Map.of(
            "name", Gateway.SERVER_NAME, "version", Gateway.SERVER_VERSION, "extensions", EXTENSIONS)));
      }
      default -> {
        if (path.startsWith("/v2/models/")) {
          return modelRoute(request, path.substring("/v2/models/".length()).split("/", -1));
        }
        throw new HttpError(404, "no such endpoint: " + path);
      }
    }
  }

  /** {@code {name}[/versions/{version}][/ready|/infer]}. */
  private Route modelRoute(RestRequest request, String[] parts) {
    String name = parts[0];
    String version = "";
    int rest = 1;
    if (parts.length >= 3 && parts[1].equals("versions")) {
      version = parts[2];
      rest = 3;
    }
    String action = parts.length == rest ? "" : parts[rest];
    if (name.isEmpty() || parts.length > rest + 1) {
      throw new HttpError(404, "no such endpoint: " + request.path());
    }
    String v = version;
    return switch (action) {
      case "" -> Route.now("GET", () -> RestResponse.json(200, metadata(dispatcher.model(name, v))));
      case "ready" -> Route.now("GET", () -> {
        ServedModel m = dispatcher.model(name, v);
        boolean ready = dispatcher.backend().ready();
        return RestResponse.json(ready ? 200 : 503, Map.of("name", m.name(), "ready", ready));
      });
      case "infer" -> new Route("POST", () -> infer(request, name, v));
      default -> throw new HttpError(404, "no such endpoint: " + request.path());
    };
  }

  private CompletableFuture<RestResponse> infer(RestRequest request, String name, String version) {
    String label = dispatcher.serves(name) ? name : RequestRecorder.UNKNOWN_MODEL;
    long start = recorder.started();
    CompletableFuture<RestResponse> response = new CompletableFuture<>();
    workers.execute(() -> {
      if (response.isDone()) {
        recorder.finished(label, "http", start, new InferenceException(Kind.UNAVAILABLE, "client went away"));
        return;
      }
      CompletableFuture<InferOutcome> running;
      InferRequest decoded;
      try {
        ServedModel model = dispatcher.model(name, version);
        decoded = JsonInferenceCodec.decodeRequest(request.body(), headerLength(request), name, version,
            dispatcher.options().maxRequestBytes(), dispatcher.declaredInputCheck(model));
        running = dispatcher.infer(decoded);
      } catch (RuntimeException e) {
        finish(response, request, label, start, e);
        return;
      }
      response.whenComplete((r, t) -> running.cancel(true));
      running.whenComplete((outcome, failure) -> {
        if (failure != null) {
          finish(response, request, label, start, failure);
          return;
        }
        workers.execute(() -> {
          try {
            JsonInferenceCodec.EncodedResponse encoded = JsonInferenceCodec.encodeResponse(outcome,
                decoded.binaryOutputs());
            RestResponse ok = encoded.headerLength() < 0
                ? new RestResponse(200, JSON, encoded.body(), Map.of())
                : new RestResponse(200, "application/octet-stream", encoded.body(),
                    Map.of(JsonInferenceCodec.HEADER_LENGTH, String.valueOf(encoded.headerLength())));
            recorder.finished(label, "http", start, null);
            if (!response.complete(ok)) {
              ok.body().release();
            }
          } catch (RuntimeException e) {
            finish(response, request, label, start, e);
          }
        });
      });
    });
    return response;
  }

  /** The JSON part's length when binary tensor data follows it, else -1. */
  private static int headerLength(RestRequest request) {
    String encoding = request.headers().get("Content-Encoding");
    if (encoding != null && !encoding.equalsIgnoreCase("identity")) {
      throw new HttpError(415, "Content-Encoding '" + encoding + "' is not supported: send the body uncompressed");
    }
    String value = request.headers().get(JsonInferenceCodec.HEADER_LENGTH);
    if (value == null) {
      return -1;
    }
    try {
      int n = Integer.parseInt(value.trim());
      if (n < 0) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new InferenceException(Kind.BAD_INPUT,
          "bad " + JsonInferenceCodec.HEADER_LENGTH + " header '" + value + "': a non-negative byte count");
    }
  }

  private void finish(CompletableFuture<RestResponse> response, RestRequest request, String label, long start,
      Throwable failure) {
    recorder.finished(label, "http", start, InferenceDispatcher.asInferenceException(failure));
    response.complete(failure(request, failure));
  }

  /** The KServe v2 protocol extensions this server implements. */
  static final List<String> EXTENSIONS = List.of("binary_tensor_data");

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

  private RestResponse metrics() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      metricsWriter.write(out, PrometheusRegistry.defaultRegistry.scrape());
    } catch (IOException e) {
      throw new IllegalStateException("could not write metrics", e);
    }
    return RestResponse.of(200, PrometheusTextFormatWriter.CONTENT_TYPE, out.toByteArray());
  }

  /** A failure of the HTTP layer itself (no such path, wrong method). */
  static final class HttpError extends RuntimeException {
    final int status;

    HttpError(int status, String message) {
      super(message);
      this.status = status;
    }
  }
}
