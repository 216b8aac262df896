package dev.shoal.cli;

import static dev.shoal.cli.ModelCommandsTest.shoal;
import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.runtime.gateway.ApiKeys;
import dev.shoal.runtime.gateway.Gateway;
import dev.shoal.runtime.gateway.GatewayOptions;
import dev.shoal.runtime.gateway.GatewaySecurity;
import dev.shoal.runtime.serving.LocalBackend;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code shoal keys}, {@code shoal admin} and the refusal of an open gateway beyond loopback. */
class GatewayCommandsTest {

  @TempDir Path dir;

  @Test
  void keysAddPrintsTheTokenOnceAndStoresItsHash() throws Exception {
    Path keys = dir.resolve("keys.txt");
    ModelCommandsTest.Result r = shoal("keys", "add", "--name", "ops", "--out", keys.toString());
    assertThat(r.status()).as(r.err()).isZero();
    String token = r.out().strip();
    assertThat(token).startsWith("shoal_");
    assertThat(Files.readString(keys)).startsWith("ops ").doesNotContain(token);
    assertThat(ApiKeys.load(keys).caller(token)).contains("ops");
    ModelCommandsTest.Result again = shoal("keys", "add", "--name", "ops", "--out", keys.toString());
    assertThat(again.status()).isEqualTo(1);
    assertThat(again.err()).contains("already has a key named 'ops'");
  }

  @Test
  void serveRefusesAnOpenGatewayBeyondLoopback() {
    Path model = dir.resolve("m.onnx");
    OnnxModelIO.write(ModelZoo.multiInputOutput(16, 8, 5, 3), model);
    ModelCommandsTest.Result r = shoal("serve", "--local", model.toString(), "--http", "0.0.0.0:0", "--grpc",
        "127.0.0.1:0");
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err()).contains("refusing to serve HTTP on 0.0.0.0").contains("--api-keys");
  }

  @Test
  void adminCallsCarryTheKeyAndReportTheGatewaysAnswer() throws Exception {
    Path model = dir.resolve("m.onnx");
    OnnxModelIO.write(ModelZoo.multiInputOutput(16, 8, 5, 3), model);
    Path keys = dir.resolve("keys.txt");
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, ApiKeys.add(keys, "ops") + "\n");
    Path wrongFile = dir.resolve("wrong");
    Files.writeString(wrongFile, "shoal_not-a-key\n");
    InetAddress lo = InetAddress.getLoopbackAddress();
    try (LocalBackend backend = LocalBackend.open("m", model, LocalBackend.Options.DEFAULT);
        Gateway g = Gateway.start(backend, new InetSocketAddress(lo, 0), new InetSocketAddress(lo, 0),
            GatewayOptions.defaults(), new GatewaySecurity(ApiKeys.load(keys), false, null, null))) {
      String url = "http://127.0.0.1:" + g.httpPort();
      ModelCommandsTest.Result wrong = shoal("admin", "plans", "--gateway", url, "--api-key-file", wrongFile.toString());
      assertThat(wrong.status()).isEqualTo(1);
      assertThat(wrong.err()).contains("gateway answered 401: the API key is not valid");
      // a single-session service has no plans to switch: the gateway says so, the CLI passes it on
      ModelCommandsTest.Result plans = shoal("admin", "activate", "--gateway", url, "--api-key-file",
          tokenFile.toString(), "--model", "m", "--plan", "fast");
      assertThat(plans.status()).isEqualTo(1);
      assertThat(plans.err()).contains("gateway answered 404: this service holds no switchable plans");
    }
  }
}
