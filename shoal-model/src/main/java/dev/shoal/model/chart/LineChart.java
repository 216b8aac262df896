package dev.shoal.model.chart;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A small line chart with a left and an optional right y axis, rendered headless to PNG (Java2D,
 * ImageIO) or SVG (text). Axes start at 0 (or the data minimum when negative) and get "nice" ticks
 * labelled with SI suffixes.
 *
 * <pre>{@code
 * new LineChart("MobileNetV2", "position", "cumulative MACs", "cut bytes")
 *     .add("MACs", xs, macs, LineChart.Axis.LEFT)
 *     .add("cut bytes", xs, cuts, LineChart.Axis.RIGHT)
 *     .writePng(Path.of("profile.png"), 1000, 500);
 * }</pre>
 */
public final class LineChart {

  /** Which y axis a series is drawn against. */
  public enum Axis {
    LEFT,
    RIGHT
  }

  private record Series(String name, double[] x, double[] y, Axis axis) {}

  private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728),
      new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b)};
  private static final int MARGIN_LEFT = 80;
  private static final int MARGIN_RIGHT = 80;
  private static final int MARGIN_TOP = 50;
  private static final int MARGIN_BOTTOM = 60;
  private static final int TICKS = 5;

  private final String title;
  private final String xLabel;
  private final String leftLabel;
  private final String rightLabel;
  private final List<Series> series = new ArrayList<>();

  /** {@code rightLabel} may be null when no series uses the right axis. */
  public LineChart(String title, String xLabel, String leftLabel, String rightLabel) {
    this.title = title;
    this.xLabel = xLabel;
    this.leftLabel = leftLabel;
    this.rightLabel = rightLabel;
  }

  public LineChart add(String name, double[] x, double[] y, Axis axis) {
    if (x.length != y.length || x.length == 0) {
      throw new IllegalArgumentException("series '" + name + "' needs equally many x and y values, at least one");
    }
    series.add(new Series(name, x.clone(), y.clone(), axis));
    return this;
  }

  public void writePng(Path file, int width, int height) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    draw(new Java2dCanvas(g), width, height);
    g.dispose();
    writeAside(file, tmp -> ImageIO.write(image, "png", tmp.toFile()));
  }

  public void writeSvg(Path file, int width, int height) {
    SvgCanvas svg = new SvgCanvas(width, height);
    draw(svg, width, height);
    writeAside(file, tmp -> Files.writeString(tmp, svg.finish()));
  }

  private void draw(Canvas c, int width, int height) {
    c.rect(0, 0, width, height, Color.WHITE);
    int plotW = width - MARGIN_LEFT - MARGIN_RIGHT;
    int plotH = height - MARGIN_TOP - MARGIN_BOTTOM;
    double[] xr = range(null, true);
    double[] left = niceRange(range(Axis.LEFT, false));
    double[] right = niceRange(range(Axis.RIGHT, false));
    c.text(title, width / 2.0, 25, Anchor.MIDDLE, Color.BLACK, 15);
    c.line(MARGIN_LEFT, MARGIN_TOP + plotH, MARGIN_LEFT + plotW, MARGIN_TOP + plotH, Color.BLACK, 1);
    c.line(MARGIN_LEFT, MARGIN_TOP, MARGIN_LEFT, MARGIN_TOP + plotH, Color.BLACK, 1);
    boolean hasRight = series.stream().anyMatch(s -> s.axis() == Axis.RIGHT);
    if (hasRight) {
      c.line(MARGIN_LEFT + plotW, MARGIN_TOP, MARGIN_LEFT + plotW, MARGIN_TOP + plotH, Color.BLACK, 1);
    }
    double[] xt = niceRange(xr);
    if (xr[1] > xt[0]) {
      xt[1] = xr[1]; // the x axis ends at the data; its ticks stay round
    }
    for (double v = left[0]; v <= left[1] + left[2] / 2; v += left[2]) {
      double py = MARGIN_TOP + plotH - (v - left[0]) / (left[1] - left[0]) * plotH;
      c.line(MARGIN_LEFT, py, MARGIN_LEFT + plotW, py, new Color(0xe6e6e6), 1);
      c.text(si(v), MARGIN_LEFT - 6, py + 4, Anchor.END, Color.BLACK, 11);
    }
    for (double v = right[0]; hasRight && v <= right[1] + right[2] / 2; v += right[2]) {
      double py = MARGIN_TOP + plotH - (v - right[0]) / (right[1] - right[0]) * plotH;
      c.text(si(v), MARGIN_LEFT + plotW + 6, py + 4, Anchor.START, Color.BLACK, 11);
    }
    for (double v = xt[0]; v <= xt[1] + 1e-9 * xt[2]; v += xt[2]) {
      double px = MARGIN_LEFT + (v - xt[0]) / (xt[1] - xt[0]) * plotW;
      c.text(si(v), px, MARGIN_TOP + plotH + 16, Anchor.MIDDLE, Color.BLACK, 11);
    }
    c.text(xLabel, MARGIN_LEFT + plotW / 2.0, height - 15, Anchor.MIDDLE, Color.BLACK, 12);
    c.text(leftLabel, MARGIN_LEFT, MARGIN_TOP - 8, Anchor.MIDDLE, Color.BLACK, 12);
    if (hasRight && rightLabel != null) {
      c.text(rightLabel, MARGIN_LEFT + plotW, MARGIN_TOP - 8, Anchor.MIDDLE, Color.BLACK, 12);
    }
    for (int i = 0; i < series.size(); i++) {
      Series s = series.get(i);
      double[] yr = s.axis() == Axis.LEFT ? left : right;
      double[] px = new double[s.x().length];
      double[] py = new double[s.y().length];
      for (int k = 0; k < px.length; k++) {
        px[k] = MARGIN_LEFT + (s.x()[k] - xt[0]) / (xt[1] - xt[0]) * plotW;
        py[k] = MARGIN_TOP + plotH - (s.y()[k] - yr[0]) / (yr[1] - yr[0]) * plotH;
      }
      Color color = PALETTE[i % PALETTE.length];
      c.polyline(px, py, color);
      double ly = MARGIN_TOP + 12 + 16 * i;
      c.line(MARGIN_LEFT + 10, ly - 4, MARGIN_LEFT + 30, ly - 4, color, 2);
      c.text(s.name() + (hasRight ? (s.axis() == Axis.LEFT ? " (left)" : " (right)") : ""),
          MARGIN_LEFT + 36, ly, Anchor.START, Color.BLACK, 11);
    }
  }

  /** min and max over the x values (all series) or the y values of one axis. */
  private double[] range(Axis axis, boolean x) {
    double lo = 0;
    double hi = 0;
    boolean any = false;
    for (Series s : series) {
      if (!x && s.axis() != axis) {
        continue;
      }
      for (double v : x ? s.x() : s.y()) {
        lo = any ? Math.min(lo, v) : v;
        hi = any ? Math.max(hi, v) : v;
        any = true;
      }
    }
    return new double[] {Math.min(0, lo), hi};
  }

  /** {lo, hi, step}: [lo, hi] widened to whole round steps, about {@link #TICKS} of them. */
  static double[] niceRange(double[] r) {
    double span = r[1] - r[0];
    if (span <= 0) {
      return new double[] {r[0], r[0] + 1, 1};
    }
    double raw = span / TICKS;
    double mag = Math.pow(10, Math.floor(Math.log10(raw)));
    double step = 10 * mag;
    for (double m : new double[] {1, 2, 2.5, 5}) {
      if (m * mag >= raw) {
        step = m * mag;
        break;
      }
    }
    double lo = Math.floor(r[0] / step) * step;
    double hi = Math.ceil(r[1] / step) * step;
    return new double[] {lo, hi, step};
  }

  static String si(double v) {
    double a = Math.abs(v);
    String[] suffix = {"", "k", "M", "G", "T"};
    int i = 0;
    while (a >= 1000 && i < suffix.length - 1) {
      a /= 1000;
      v /= 1000;
      i++;
    }
    String num = Math.abs(v - Math.rint(v)) < 1e-9 ? String.format(Locale.ROOT, "%.0f", v)
        : String.format(Locale.ROOT, "%.3g", v);
    return num + suffix[i];
  }

  private interface IoAction {
    void write(Path tmp) throws IOException;
  }

  private static void writeAside(Path file, IoAction action) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
      try {
        action.write(tmp);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write chart " + file + ": " + e.getMessage(), e);
    }
  }

  private enum Anchor {
    START,
    MIDDLE,
    END
  }

  /** The drawing primitives the chart needs, for both back ends. */
  private interface Canvas {
    void rect(double x, double y, double w, double h, Color fill);

    void line(double x1, double y1, double x2, double y2, Color color, float width);

    void polyline(double[] x, double[] y, Color color);

    void text(String s, double x, double y, Anchor anchor, Color color, int size);
  }

  private record Java2dCanvas(Graphics2D g) implements Canvas {
    public void rect(double x, double y, double w, double h, Color fill) {
      g.setColor(fill);
      g.fillRect((int) x, (int) y, (int) w, (int) h);
    }

    public void line(double x1, double y1, double x2, double y2, Color color, float width) {
      g.setColor(color);
      g.setStroke(new BasicStroke(width));
      g.draw(new java.awt.geom.Line2D.Double(x1, y1, x2, y2));
    }

    public void polyline(double[] x, double[] y, Color color) {
      Path2D.Double p = new Path2D.Double();
      p.moveTo(x[0], y[0]);
      for (int i = 1; i < x.length; i++) {
        p.lineTo(x[i], y[i]);
      }
      g.setColor(color);
      g.setStroke(new BasicStroke(1.6f));
      g.draw(p);
    }

    public void text(String s, double x, double y, Anchor anchor, Color color, int size) {
      g.setFont(g.getFont().deriveFont((float) size));
      int w = g.getFontMetrics().stringWidth(s);
      double dx = anchor == Anchor.START ? 0 : anchor == Anchor.MIDDLE ? -w / 2.0 : -w;
      g.setColor(color);
      g.drawString(s, (float) (x + dx), (float) y);
    }
  }

  private static final class SvgCanvas implements Canvas {
    private final StringBuilder out = new StringBuilder();

    SvgCanvas(int width, int height) {
      out.append(String.format(Locale.ROOT,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">%n",
          width, height));
    }

    String finish() {
      return out.append("</svg>\n").toString();
    }

    public void rect(double x, double y, double w, double h, Color fill) {
      out.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>%n",
          x, y, w, h, hex(fill)));
    }

    public void line(double x1, double y1, double x2, double y2, Color color, float width) {
      out.append(String.format(Locale.ROOT,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%.1f\"/>%n",
          x1, y1, x2, y2, hex(color), width));
    }

    public void polyline(double[] x, double[] y, Color color) {
      out.append("<polyline fill=\"none\" stroke-width=\"1.6\" stroke=\"").append(hex(color)).append("\" points=\"");
      for (int i = 0; i < x.length; i++) {
        out.append(String.format(Locale.ROOT, "%.1f,%.1f ", x[i], y[i]));
      }
      out.append("\"/>\n");
    }

    public void text(String s, double x, double y, Anchor anchor, Color color, int size) {
      String a = anchor == Anchor.START ? "start" : anchor == Anchor.MIDDLE ? "middle" : "end";
      String escaped = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
      out.append(String.format(Locale.ROOT,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\" fill=\"%s\">%s</text>%n",
          x, y, size, a, hex(color), escaped));
    }

    private static String hex(Color c) {
      return String.format("#%02x%02x%02x", c.getRed(), c.getGreen(), c.getBlue());
    }
  }
}
