package dev.shoal.runtime.gateway;

import dev.shoal.model.TensorSpec;
import dev.shoal.runtime.serving.InferenceException;
import dev.shoal.runtime.serving.InferenceException.Kind;
import dev.shoal.runtime.serving.PlanAdmin;
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
 * stops the server. Cheap answers (health, metadata) are made on the caller's thread, and so are
 * the decoding of a request with little JSON (its binary tensor data, up to 4 MiB, is only copied)
 * and the encoding of a small answer; larger ones run on the worker pool. The inference itself runs
 * on the backend, so no thread waits on a model.
 */
final class HttpApi {

  private static final Logger LOG = Logger.getLogger(HttpApi.class.getName());
  private static final String JSON = RestResponse.JSON;

  private final InferenceDispatcher dispatcher;
  private final RequestRecorder recorder;
  private final Executor workers;
  private final GatewaySecurity security;
  private final PrometheusTextFormatWriter metricsWriter = new PrometheusTextFormatWriter(false);

  HttpApi(InferenceDispatcher dispatcher, RequestRecorder recorder, Executor workers, GatewaySecurity security) {
    this.dispatcher = dispatcher;
    this.recorder = recorder;
    this.workers = workers;
    this.security = security;
  }

  /** Who may call a route. */
  enum Guard {
    /** health, server metadata, metrics, status page: open unless health is keyed */
    HEALTH,
    /** inference and model metadata: a key when the gateway has keys */
    KEYED,
    /** plan switching: always a key; off on a gateway without keys */
    ADMIN
  }

  /** A path the API knows, with the one method it takes and who may call it. */
  private record Route(String method, Guard guard, Supplier<CompletableFuture<RestResponse>> action) {
    static Route now(String method, Guard guard, Supplier<RestResponse> answer) {
      return new Route(method, guard, () -> CompletableFuture.completedFuture(answer.get()));
    }
  }

  /** Null if the caller may use a route with this guard, else the refusal. */
  private RestResponse refusal(Guard guard, RestRequest request) {
    ApiKeys keys = security.keys();
    if (guard == Guard.ADMIN && keys.isEmpty()) {
      return RestResponse.error(403, "admin calls need API keys: start the gateway with --api-keys FILE");
    }
    boolean needsKey = guard == Guard.ADMIN || (!keys.isEmpty() && (guard == Guard.KEYED || security.keyedHealth()));
    if (!needsKey) {
      return null;
    }
    String header = request.headers().get("Authorization");
    if (keys.callerOfHeader(header).isPresent()) {
      return null;
    }
    return RestResponse.error(401, header == null
            ? "missing API key: send the header 'Authorization: Bearer <key>'"
            : "the API key is not valid for this gateway")
        .withHeader("WWW-Authenticate", "Bearer realm=\"shoal\"");
  }

  /** The answer to one request; cancelling it (the client went away) cancels its inference. */
  CompletableFuture<RestResponse> handle(RestRequest request) {
    try {
      Route route = route(request);
      RestResponse refused = refusal(route.guard(), request);
      if (refused != null) {
        return CompletableFuture.completedFuture(refused);
      }
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

  private Route route(RestRequest request) {
    String path = request.path();
    switch (path) {
      case "/" -> {
        return Route.now("GET", Guard.HEALTH, () -> RestResponse.of(200, "text/html; charset=utf-8",
            StatusPage.render(dispatcher.backend(), recorder).getBytes(StandardCharsets.UTF_8)));
      }
      case "/metrics" -> {
        return Route.now("GET", Guard.HEALTH, this::metrics);
      }
      case "/v2/health/live" -> {
        return Route.now("GET", Guard.HEALTH, () -> RestResponse.json(200, Map.of("live", true)));
      }
      case "/v2/health/ready" -> {
        return Route.now("GET", Guard.HEALTH, () -> {
          boolean ready = dispatcher.backend().ready();
          return RestResponse.json(ready ? 200 : 503, Map.of("ready", ready));
        });
      }
      case "/v2", "/v2/" -> {
        return Route.now("GET", Guard.HEALTH, () -> RestResponse.json(200, Map.of(
            "name", Gateway.SERVER_NAME, "version", Gateway.SERVER_VERSION, "extensions", EXTENSIONS)));
      }
      default -> {
        if (path.equals("/v2/admin/plans")) {
          return Route.now("GET", Guard.ADMIN, () -> RestResponse.json(200, Map.of("plans",
              planAdmin().plans().stream().map(HttpApi::planJson).toList())));
        }
        if (path.startsWith("/v2/admin/models/")) {
          return activateRoute(request, path.substring("/v2/admin/models/".length()).split("/", -1));
        }
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
      case "" -> Route.now("GET", Guard.KEYED, () -> RestResponse.json(200, metadata(dispatcher.model(name, v))));
      case "ready" -> Route.now("GET", Guard.HEALTH, () -> {
        ServedModel m = dispatcher.model(name, v);
        boolean ready = dispatcher.backend().ready();
        return RestResponse.json(ready ? 200 : 503, Map.of("name", m.name(), "ready", ready));
      });
      case "infer" -> new Route("POST", Guard.KEYED, () -> infer(request, name, v));
      default -> throw new HttpError(404, "no such endpoint: " + request.path());
    };
  }

  /** {@code {model}/plans/{plan}/activate}. */
  private Route activateRoute(RestRequest request, String[] parts) {
    if (parts.length != 4 || parts[0].isEmpty() || !parts[1].equals("plans") || parts[2].isEmpty()
        || !parts[3].equals("activate")) {
      throw new HttpError(404, "no such endpoint: " + request.path()
          + " (admin: GET /v2/admin/plans, POST /v2/admin/models/{model}/plans/{plan}/activate)");
    }
    String model = parts[0];
    String plan = parts[2];
    // activation may wait for the backend: off the event loop
    return new Route("POST", Guard.ADMIN, () -> CompletableFuture.supplyAsync(() -> {
      try {
        planAdmin().activate(model, plan);
        return RestResponse.json(200, Map.of("model", model, "plan", plan, "active", true));
      } catch (RuntimeException e) {
        return failure(request, e);
      }
    }, workers));
  }

  private PlanAdmin planAdmin() {
    return dispatcher.backend().planAdmin().orElseThrow(() -> new HttpError(404,
        "this service holds no switchable plans (it serves one fixed plan per model)"));
  }

  private static Map<String, Object> planJson(PlanAdmin.PlanInfo p) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("model", p.model());
    out.put("plan", p.plan());
    out.put("active", p.active());
    out.put("summary", p.summary());
    return out;
  }

  private CompletableFuture<RestResponse> infer(RestRequest request, String name, String version) {
    String label = dispatcher.serves(name) ? name : RequestRecorder.UNKNOWN_MODEL;
    long start = recorder.started();
    CompletableFuture<RestResponse> response = new CompletableFuture<>();
    // A body that is quick to decode is decoded at once on the caller's thread (the event loop): it
    // must not queue behind large ones, and a hand-off to the pool would cost a thread wake-up. Quick
    // means little JSON: binary tensor data (the extension's part after the JSON header) is only
    // copied, so it counts up to INLINE_BINARY_BYTES.
    Executor decoder = decodesQuickly(request) ? Runnable::run : workers;
    decoder.execute(() -> {
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
        long outputBytes = outcome.outputs().stream().mapToLong(t -> t.data().length).sum();
        (outputBytes <= INLINE_BYTES / 8 ? (Executor) Runnable::run : workers).execute(() -> {
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

  /** JSON up to this size is decoded without a hand-off to the worker pool. */
  private static final int INLINE_BYTES = 64 * 1024;
  /** Binary tensor data up to this size is copied without a hand-off to the worker pool. */
  private static final int INLINE_BINARY_BYTES = 4 << 20;

  /** True when the body's JSON is small and its binary part (if any) small enough to copy on the event loop. */
  static boolean decodesQuickly(RestRequest request) {
    int body = request.body().readableBytes();
    if (body <= INLINE_BYTES) {
      return true;
    }
    if (body > INLINE_BYTES + INLINE_BINARY_BYTES) {
      return false;
    }
    try {
      int json = headerLength(request); // -1: no binary part, so all of the body is JSON
      return json >= 0 && json <= INLINE_BYTES;
    } catch (RuntimeException e) {
      return false; // a bad header is refused by the decoder, wherever it runs
    }
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
