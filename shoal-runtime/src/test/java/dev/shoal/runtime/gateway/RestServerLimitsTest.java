package dev.shoal.runtime.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.runtime.serving.InferenceCall;
import dev.shoal.runtime.serving.InferenceResult;
import dev.shoal.runtime.serving.LocalBackend;
import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The REST server's defences over real sockets: slow clients are cut off while others are served,
 * the connection cap, a clean 400 for a bad Content-Length, no descriptor kept by aborted requests,
 * and a client that goes away (or a passed deadline) cancels the backend's work.
 */
class RestServerLimitsTest {

  private static final String GOOD = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\","
      + "\"data\":[1,2,3,4]}]}";

  private static LocalBackend local;
  private static SlowBackend slow;
  private static Gateway gateway;

  /** A real ONNX session whose answers are held back, recording whether callers cancelled them. */
  static final class SlowBackend implements ServingBackend {
    final ServingBackend inner;
    final ScheduledExecutorService delay = Executors.newSingleThreadScheduledExecutor();
    final List<CompletableFuture<InferenceResult>> calls = new ArrayList<>();
    volatile long holdMillis = 0;
    final CountDownLatch cancelled = new CountDownLatch(1);

    SlowBackend(ServingBackend inner) {
      this.inner = inner;
    }

    @Override
    public List<ServedModel> models() {
      return inner.models();
    }

    @Override
    public boolean ready() {
      return inner.ready();
    }

    @Override
    public CompletableFuture<InferenceResult> infer(InferenceCall call) {
      CompletableFuture<InferenceResult> answer = new CompletableFuture<>();
      answer.whenComplete((r, t) -> {
        if (answer.isCancelled()) {
          cancelled.countDown();
        }
      });
      synchronized (calls) {
        calls.add(answer);
      }
      inner.infer(call).whenComplete((r, t) -> delay.schedule(() -> {
        if (t != null) {
          answer.completeExceptionally(t);
        } else {
          answer.complete(r);
        }
      }, holdMillis, TimeUnit.MILLISECONDS));
      return answer;
    }

    @Override
    public void close() {
      delay.shutdownNow();
    }
  }

  @BeforeAll
  static void start() {
    local = LocalBackend.open("linear", LinearSoftmaxModel.onnx(), LocalBackend.Options.DEFAULT);
    slow = new SlowBackend(local);
    gateway = Gateway.start(slow, 0, 0, GatewayOptions.defaults()
        .withReadTimeouts(Duration.ofMillis(600), Duration.ofSeconds(3))
        .withRequestTimeout(Duration.ofMillis(1500))
        .withMaxConnections(64));
  }

  @AfterAll
  static void stop() {
    gateway.close();
    slow.close();
    local.close();
  }

  private static Socket open() throws IOException {
    Socket s = new Socket("127.0.0.1", gateway.httpPort());
    s.setSoTimeout(5000);
    return s;
  }

  private static String post(String body) {
    return "POST /v2/models/linear/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
        + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
  }

  /** Sends one request on a fresh connection and returns the whole response (the server closes). */
  private static String exchange(String request) throws IOException {
    try (Socket s = open()) {
      s.getOutputStream().write(request.replace("Host: x\r\n", "Host: x\r\nConnection: close\r\n")
          .getBytes(StandardCharsets.UTF_8));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static boolean closedByServer(Socket s) throws IOException {
    try {
      InputStream in = s.getInputStream();
      while (in.read() != -1) {
        // a response (408-less close) may come first; what matters is the end of the stream
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  @Test
  void slowClientsAreCutOffWhileOthersAreAnswered() throws Exception {
    List<Socket> slowOnes = new ArrayList<>();
    try {
      for (int i = 0; i < 40; i++) {
        Socket s = open();
        s.getOutputStream().write("POST /v2/models/linear/infer HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));
        slowOnes.add(s);
      }
      // answered while they hang (how fast is `shoal bench hardening`'s to measure)
      assertThat(exchange(post(GOOD))).startsWith("HTTP/1.1 200");
      // one byte every 200 ms never completes the head within the 600 ms read timeout
      for (int k = 0; k < 2; k++) {
        Thread.sleep(200);
        for (Socket s : slowOnes) {
          try {
            s.getOutputStream().write('s');
          } catch (IOException closedAlready) {
            // the server may already have hung up
          }
        }
      }
      for (Socket s : slowOnes) {
        assertThat(closedByServer(s)).as("slow connection closed by the server").isTrue();
      }
    } finally {
      for (Socket s : slowOnes) {
        s.close();
      }
    }
    assertThat(exchange(post(GOOD))).startsWith("HTTP/1.1 200");
  }

  @Test
  void badContentLengthGetsAJson400NotAnHtmlPage() throws Exception {
    String r = exchange("POST /v2/models/linear/infer HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}");
    assertThat(r).startsWith("HTTP/1.1 400").contains("application/json").contains("{\"error\":\"bad HTTP request")
        .doesNotContain("<html").doesNotContain("Exception");
  }

  @Test
  void connectionsOverTheCapAreClosedAtOnce() throws Exception {
    List<Socket> held = new ArrayList<>();
    try {
      for (int i = 0; i < 64; i++) {
        held.add(open());
      }
      Thread.sleep(200);
      try (Socket extra = open()) {
        extra.getOutputStream().write(post(GOOD).getBytes(StandardCharsets.UTF_8));
        assertThat(closedByServer(extra)).isTrue();
      }
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
    Thread.sleep(200);
    assertThat(exchange(post(GOOD))).startsWith("HTTP/1.1 200");
  }

  @Test
  void abortedRequestsKeepNoDescriptor() throws Exception {
    long before = openDescriptors();
    for (int i = 0; i < 400; i++) {
      try (Socket s = new Socket("127.0.0.1", gateway.httpPort())) {
        OutputStream out = s.getOutputStream();
        out.write(("POST /v2/models/linear/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"in")
            .getBytes(StandardCharsets.US_ASCII));
        if (i % 2 == 0) {
          s.setSoLinger(true, 0); // half of them end with a reset
        }
      }
    }
    long after = 0;
    for (int wait = 0; wait < 50; wait++) {
      Thread.sleep(100);
      after = openDescriptors();
      if (after <= before + 8) {
        break;
      }
    }
    assertThat(after).as("descriptors before %d, after 400 aborted requests %d", before, after)
        .isLessThanOrEqualTo(before + 8);
    assertThat(exchange(post(GOOD))).startsWith("HTTP/1.1 200");
  }

  private static long openDescriptors() throws IOException {
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  @Test
  void aClientThatGoesAwayCancelsItsInferenceAndSoDoesTheDeadline() throws Exception {
    slow.holdMillis = 5000;
    try {
      int before;
      synchronized (slow.calls) {
        before = slow.calls.size();
      }
      try (Socket s = open()) {
        s.getOutputStream().write(post(GOOD).getBytes(StandardCharsets.UTF_8));
        waitForCall(before);
      }
      assertThat(slow.cancelled.await(3, TimeUnit.SECONDS)).as("backend future cancelled after hang-up").isTrue();
      CompletableFuture<InferenceResult> abandoned;
      synchronized (slow.calls) {
        abandoned = slow.calls.get(before);
      }
      assertThat(abandoned.isCancelled()).isTrue();

      // the deadline (1.5 s) passes: 504, and the backend's work is cancelled too
      String r = exchange(post(GOOD));
      assertThat(r).startsWith("HTTP/1.1 504").contains("deadline");
      synchronized (slow.calls) {
        assertThat(slow.calls.get(slow.calls.size() - 1).isCancelled()).isTrue();
      }
    } finally {
      slow.holdMillis = 0;
    }
    assertThat(exchange(post(GOOD))).startsWith("HTTP/1.1 200");
  }

  @Test
  void largeBodiesBeyondTheBufferBudgetWaitTheirTurnAndAreAllAnswered() throws Exception {
    long max = 128 * 1024;
    StringBuilder data = new StringBuilder();
    int rows = 7_500; // 30,000 elements of "0.5," : ~120 KB, near the limit
    for (int i = 0; i < rows * 4; i++) {
      data.append(i == 0 ? "" : ",").append("0.5");
    }
    String body = "{\"inputs\":[{\"name\":\"x\",\"shape\":[" + rows + ",4],\"datatype\":\"FP32\",\"data\":["
        + data + "]}],\"outputs\":[{\"name\":\"probs\"}]}";
    // room for one such request (body and decoded tensors) at a time
    try (Gateway small = Gateway.start(local, 0, 0, GatewayOptions.defaults().withMaxRequestBytes(max)
        .withMaxBufferedBytes(2 * max))) {
      java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
      List<CompletableFuture<java.net.http.HttpResponse<String>>> replies = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        replies.add(client.sendAsync(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + small.httpPort() + "/v2/models/linear/infer"))
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()));
      }
      for (CompletableFuture<java.net.http.HttpResponse<String>> r : replies) {
        java.net.http.HttpResponse<String> reply = r.get(60, TimeUnit.SECONDS);
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(200);
        assertThat(reply.body()).contains("\"shape\":[" + rows + ",3]");
      }
    }
  }

  private static void waitForCall(int before) throws InterruptedException {
    for (int i = 0; i < 100; i++) {
      synchronized (slow.calls) {
        if (slow.calls.size() > before) {
          return;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("the request never reached the backend");
  }
}
