package dev.shoal.runtime.gateway;

import dev.shoal.runtime.serving.ServedModel;
import dev.shoal.runtime.serving.ServingBackend;
import dev.shoal.model.TensorSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** The small HTML page at {@code /}: models, readiness, recent throughput and latency, backend state. */
final class StatusPage {

  static final Duration WINDOW = Duration.ofSeconds(30);

  private StatusPage() {}

  static String render(ServingBackend backend, RequestRecorder recorder) {
    StringBuilder h = new StringBuilder(4096);
    boolean ready = backend.ready();
    h.append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Shoal gateway</title>")
        .append("<meta http-equiv=\"refresh\" content=\"5\">")
        .append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}")
        .append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}")
        .append(".ok{color:#080}.bad{color:#b00}</style></head><body>")
        .append("<h1>Shoal gateway</h1><p>Server: ")
        .append(ready ? "<b class=\"ok\">ready</b>" : "<b class=\"bad\">not ready</b>")
        .append(" &middot; ").append(escape(Instant.now().toString()))
        .append(" &middot; <a href=\"/metrics\">metrics</a> &middot; <a href=\"/v2\">/v2</a></p>")
        .append("<h2>Models</h2><table><tr><th>model</th><th>version</th><th>platform</th><th>inputs</th>")
        .append("<th>outputs</th><th>requests (last ").append(WINDOW.toSeconds()).append(" s)</th>")
        .append("<th>errors</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th></tr>");
    for (ServedModel m : backend.models()) {
      RecentRequests.Summary s = recorder.recent(m.name(), WINDOW.toNanos());
      h.append("<tr><td>").append(escape(m.name())).append("</td><td>").append(escape(m.version()))
          .append("</td><td>").append(escape(m.platform())).append("</td><td>").append(specs(m.inputs()))
          .append("</td><td>").append(specs(m.outputs())).append("</td><td>").append(s.requests())
          .append("</td><td>").append(s.errors()).append("</td><td>").append(fmt(s.perSecond()))
          .append("</td><td>").append(fmt(s.p50Ms())).append("</td><td>").append(fmt(s.p99Ms()))
          .append("</td></tr>");
    }
    h.append("</table>");
    List<String> lines = backend.status();
    if (!lines.isEmpty()) {
      h.append("<h2>Backend</h2><ul>");
      for (String line : lines) {
        h.append("<li>").append(escape(line)).append("</li>");
      }
      h.append("</ul>");
    }
    return h.append("</body></html>").toString();
  }

  private static String specs(List<TensorSpec> specs) {
    StringBuilder b = new StringBuilder();
    for (TensorSpec s : specs) {
      if (b.length() > 0) {
        b.append("<br>");
      }
      b.append(escape(s.name())).append(' ').append(KServeDataType.of(s.dtype()))
          .append(' ').append(Arrays.toString(s.shape()));
    }
    return b.toString();
  }

  private static String fmt(double v) {
    return Double.isNaN(v) ? "&ndash;" : String.format(Locale.ROOT, "%.2f", v);
  }

  static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
