package dev.shoal.plan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/** A plan for people: a table of its stages and an SVG picture with the bottleneck marked. */
public final class PlanReport {

  private final PipelineCost cost;
  private final PipelinePlan plan;
  private final PipelineCost.Evaluation evaluation;
  private final String solver;

  public PlanReport(PipelineCost cost, PipelinePlan plan, String solver) {
    this.cost = cost;
    this.plan = plan;
    this.evaluation = cost.evaluate(plan.stages());
    this.solver = solver;
  }

  /** What the bottleneck is, in words: "compute of stage 2 on pi-b", "transfer into stage 1 (pi-a -> pi-c)". */
  public String bottleneckText() {
    PipelineCost.Term term = evaluation.bottleneckTerm();
    List<StageAssignment> stages = plan.stages();
    return switch (term.kind()) {
      case INPUT -> "input transfer " + name(cost.instance().source()) + " -> " + name(stages.get(0).device());
      case COMPUTE -> "compute of stage " + term.stage() + " on " + name(stages.get(term.stage()).device());
      case TRANSFER ->
          "transfer into stage " + term.stage() + " (" + name(stages.get(term.stage() - 1).device()) + " -> "
              + name(stages.get(term.stage()).device()) + ")";
    };
  }

  public String table() {
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            Locale.ROOT,
            "solver %s: bottleneck %.6f s (%s), throughput %.2f/s, latency %.6f s, %d stage(s), solved in %d ms%n",
            solver, plan.bottleneck(), bottleneckText(), 1 / plan.bottleneck(), plan.latency(),
            plan.stages().size(), plan.solveMillis()));
    out.append(
        String.format(
            Locale.ROOT, "%-5s %-14s %-30s %12s %12s %12s %21s%n", "stage", "device", "layers", "in bytes",
            "in s", "compute s", "memory / capacity MiB"));
    List<StageAssignment> stages = plan.stages();
    for (int s = 0; s < stages.size(); s++) {
      StageAssignment stage = stages.get(s);
      long inBytes;
      double inSeconds;
      if (s == 0) {
        inBytes = cost.instance().source() == null ? 0 : cost.instance().inputBytes();
        inSeconds = cost.inputTransfer(stage.device());
      } else {
        StageAssignment previous = stages.get(s - 1);
        inBytes = cost.instance().layers().get(previous.last()).cutBytes();
        inSeconds = cost.cutTransfer(previous.last(), previous.device(), stage.device());
      }
      out.append(
          String.format(
              Locale.ROOT, "%-5d %-14s %-30s %12d %12.6f %12.6f %10.1f / %8.1f%n", s, name(stage.device()),
              layers(stage), inBytes, inSeconds, cost.stageCompute(stage.device(), stage.first(), stage.last()),
              mib(cost.stageMemory(stage.first(), stage.last())),
              mib(cost.instance().devices().get(stage.device()).memoryBytes())));
    }
    return out.toString();
  }

  /** Writes the picture: one box per stage in pipeline order, arrows labelled with what crosses them. */
  public void writeSvg(Path file) throws IOException {
    List<StageAssignment> stages = plan.stages();
    boolean withSource = cost.instance().source() != null;
    int boxes = stages.size() + (withSource ? 1 : 0);
    int boxWidth = 190;
    int gap = 80;
    int width = 40 + boxes * boxWidth + (boxes - 1) * gap;
    int height = 260;
    StringBuilder svg = new StringBuilder();
    svg.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%n",
            width, height));
    svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    svg.append(
        text(20, 24, 14, "bold", "black",
            String.format(Locale.ROOT, "%s plan: bottleneck %.4g s (%s), latency %.4g s", solver,
                plan.bottleneck(), bottleneckText(), plan.latency())));
    PipelineCost.Term worst = evaluation.bottleneckTerm();
    int x = 20;
    int y = 60;
    int boxHeight = 150;
    if (withSource) {
      svg.append(box(x, y, boxWidth, boxHeight, "#eeeeee", "#888888"));
      svg.append(text(x + 10, y + 22, 13, "bold", "black", "source " + name(cost.instance().source())));
      svg.append(text(x + 10, y + 42, 12, "normal", "black", "input " + bytes(cost.instance().inputBytes())));
      x += boxWidth + gap;
    }
    for (int s = 0; s < stages.size(); s++) {
      StageAssignment stage = stages.get(s);
      boolean hasArrow = s > 0 || withSource;
      if (hasArrow) {
        boolean critical =
            (s == 0 && worst.kind() == PipelineCost.Term.Kind.INPUT)
                || (s > 0 && worst.kind() == PipelineCost.Term.Kind.TRANSFER && worst.stage() == s);
        long crossing =
            s == 0 ? cost.instance().inputBytes() : cost.instance().layers().get(stages.get(s - 1).last()).cutBytes();
        double seconds =
            s == 0
                ? cost.inputTransfer(stage.device())
                : cost.cutTransfer(stages.get(s - 1).last(), stages.get(s - 1).device(), stage.device());
        String color = critical ? "#d62728" : "#444444";
        int ax = x - gap;
        svg.append(
            String.format(
                Locale.ROOT,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"%d\"/>%n"
                    + "<polygon points=\"%d,%d %d,%d %d,%d\" fill=\"%s\"/>%n",
                ax + 4, y + boxHeight / 2, x - 8, y + boxHeight / 2, color, critical ? 4 : 2, x - 2,
                y + boxHeight / 2, x - 10, y + boxHeight / 2 - 6, x - 10, y + boxHeight / 2 + 6, color));
        svg.append(text(ax + 6, y + boxHeight / 2 - 10, 11, "normal", color, bytes(crossing)));
        svg.append(text(ax + 6, y + boxHeight / 2 + 20, 11, "normal", color, seconds(seconds)));
      }
      boolean critical = worst.kind() == PipelineCost.Term.Kind.COMPUTE && worst.stage() == s;
      svg.append(box(x, y, boxWidth, boxHeight, critical ? "#fde0dd" : "#e8f1fa", critical ? "#d62728" : "#1f77b4"));
      long memory = cost.stageMemory(stage.first(), stage.last());
      long capacity = cost.instance().devices().get(stage.device()).memoryBytes();
      String[] lines = {
        "stage " + s + " on " + name(stage.device()),
        "layers " + stage.first() + ".." + stage.last(),
        abbreviate(cost.instance().layers().get(stage.first()).name()) + " ..",
        ".. " + abbreviate(cost.instance().layers().get(stage.last()).name()),
        "compute " + seconds(cost.stageCompute(stage.device(), stage.first(), stage.last())),
        "memory " + bytes(memory) + " / " + bytes(capacity)
      };
      for (int i = 0; i < lines.length; i++) {
        svg.append(text(x + 10, y + 22 + 20 * i, i == 0 ? 13 : 12, i == 0 ? "bold" : "normal", "black", lines[i]));
      }
      // memory fill bar
      double fill = capacity == 0 ? 0 : Math.min(1.0, memory / (double) capacity);
      svg.append(
          String.format(
              Locale.ROOT,
              "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"6\" fill=\"#dddddd\"/><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"6\" fill=\"#2ca02c\"/>%n",
              x + 10, y + boxHeight - 14, boxWidth - 20, x + 10, y + boxHeight - 14, (boxWidth - 20) * fill));
      x += boxWidth + gap;
    }
    svg.append(
        text(20, height - 20, 11, "normal", "#555555",
            "red = the bottleneck (largest compute or transfer); arrows: bytes crossing the cut and their transfer time; bar: memory used"));
    svg.append("</svg>\n");
    Path target = file.toAbsolutePath();
    Files.createDirectories(target.getParent());
    Path temporary = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".part");
    try {
      Files.writeString(temporary, svg.toString());
      Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  private String name(int device) {
    return cost.instance().devices().get(device).name();
  }

  private String layers(StageAssignment stage) {
    String text =
        stage.first() + ".." + stage.last() + " (" + cost.instance().layers().get(stage.first()).name() + ".."
            + cost.instance().layers().get(stage.last()).name() + ")";
    return text.length() <= 30 ? text : text.substring(0, 29) + "~";
  }

  private static String abbreviate(String name) {
    return name.length() <= 22 ? name : name.substring(0, 21) + "~";
  }

  private static double mib(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }

  static String bytes(long bytes) {
    if (bytes >= 1 << 20) {
      return String.format(Locale.ROOT, "%.1f MiB", mib(bytes));
    }
    if (bytes >= 1 << 10) {
      return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
    return bytes + " B";
  }

  private static String seconds(double seconds) {
    return seconds >= 0.1 ? String.format(Locale.ROOT, "%.3f s", seconds) : String.format(Locale.ROOT, "%.2f ms", seconds * 1e3);
  }

  private static String box(int x, int y, int w, int h, String fill, String stroke) {
    return String.format(
        Locale.ROOT,
        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"8\" fill=\"%s\" stroke=\"%s\" stroke-width=\"2\"/>%n",
        x, y, w, h, fill, stroke);
  }

  private static String text(int x, int y, int size, String weight, String color, String content) {
    String escaped = content.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    return String.format(
        Locale.ROOT,
        "<text x=\"%d\" y=\"%d\" font-size=\"%d\" font-weight=\"%s\" fill=\"%s\">%s</text>%n",
        x, y, size, weight, color, escaped);
  }
}
