package dev.shoal.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code shoal admin}: the gateway's authenticated admin calls (plans of a running service). */
@Command(
    name = "admin",
    mixinStandardHelpOptions = true,
    description = "Admin calls on a running `shoal serve` (they need an API key).",
    subcommands = {AdminCommand.Plans.class, AdminCommand.Activate.class})
public final class AdminCommand implements Runnable {

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Where the gateway is and how to reach it. */
  static final class Target {
    @Option(names = "--gateway", defaultValue = "http://127.0.0.1:8000",
        description = "the gateway's REST address (default: ${DEFAULT-VALUE}); https:// for TLS")
    String gateway;

    @Option(names = "--api-key-file", required = true, paramLabel = "FILE",
        description = "a file holding the API token (as `shoal keys add` printed it)")
    Path apiKeyFile;

    @Option(names = "--ca-cert", paramLabel = "PEM",
        description = "trust this certificate for https (a self-signed --tls-cert); default: the JDK's CAs")
    Path caCert;

    JsonNode send(String method, String path) throws Exception {
      String token = Files.readString(apiKeyFile).strip();
      HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
      if (caCert != null) {
        client.sslContext(trusting(caCert));
      }
      HttpRequest request = HttpRequest.newBuilder(URI.create(gateway.replaceAll("/+$", "") + path))
          .timeout(Duration.ofSeconds(60))
          .header("Authorization", "Bearer " + token)
          .method(method, HttpRequest.BodyPublishers.noBody())
          .build();
      HttpResponse<String> r = client.build().send(request, HttpResponse.BodyHandlers.ofString());
      JsonNode body = new ObjectMapper().readTree(r.body());
      if (r.statusCode() != 200) {
        throw new IllegalStateException("gateway answered " + r.statusCode() + ": "
            + (body.has("error") ? body.get("error").asText() : r.body()));
      }
      return body;
    }

    private static SSLContext trusting(Path pem) throws Exception {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      try (InputStream in = Files.newInputStream(pem)) {
        int i = 0;
        for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
          trust.setCertificateEntry("ca" + i++, cert);
        }
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    }
  }

  /** {@code shoal admin plans}. */
  @Command(name = "plans", mixinStandardHelpOptions = true,
      description = "List every deployed plan of every model; * marks the active one.")
  static final class Plans implements Callable<Integer> {
    @Mixin Target target;

    @Override
    public Integer call() throws Exception {
      JsonNode plans = target.send("GET", "/v2/admin/plans").get("plans");
      System.out.printf("  %-20s %-20s %s%n", "model", "plan", "summary");
      for (JsonNode p : plans) {
        System.out.printf("%s %-20s %-20s %s%n", p.get("active").asBoolean() ? "*" : " ", p.get("model").asText(),
            p.get("plan").asText(), p.get("summary").asText());
      }
      return 0;
    }
  }

  /** {@code shoal admin activate}. */
  @Command(name = "activate", mixinStandardHelpOptions = true,
      description = {"Make a deployed plan the active one of its model: new requests take it, requests in",
          "flight finish on theirs."})
  static final class Activate implements Callable<Integer> {
    @Mixin Target target;

    @Option(names = "--model", required = true, description = "the served model")
    String model;

    @Option(names = "--plan", required = true, description = "the plan to activate (see `shoal admin plans`)")
    String plan;

    @Override
    public Integer call() throws Exception {
      target.send("POST", "/v2/admin/models/" + URLEncoder.encode(model, StandardCharsets.UTF_8) + "/plans/"
          + URLEncoder.encode(plan, StandardCharsets.UTF_8) + "/activate");
      System.out.println("model '" + model + "' now runs plan '" + plan + "'");
      return 0;
    }
  }
}
