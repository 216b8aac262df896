package dev.shoal.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A benchmark's results: named columns and rows of numbers or text, printed as an aligned table and
 * written as CSV and JSON ({@code {"meta":{...},"rows":[{column: value}]}}); files are written aside
 * and moved into place.
 */
public final class ResultTable {

  private final List<String> columns;
  private final List<List<Object>> rows = new ArrayList<>();
  private final Map<String, Object> meta = new LinkedHashMap<>();

  public ResultTable(String... columns) {
    this.columns = List.of(columns);
  }

  public ResultTable row(Object... values) {
    if (values.length != columns.size()) {
      throw new IllegalArgumentException("row has " + values.length + " values for " + columns.size() + " columns");
    }
    rows.add(List.of(values));
    return this;
  }

  /** A fact about the whole run (model, machine, settings), kept in the JSON. */
  public ResultTable meta(String key, Object value) {
    meta.put(key, value);
    return this;
  }

  public List<List<Object>> rows() {
    return List.copyOf(rows);
  }

  public void print(PrintStream out) {
    int[] width = new int[columns.size()];
    for (int c = 0; c < width.length; c++) {
      width[c] = columns.get(c).length();
      for (List<Object> r : rows) {
        width[c] = Math.max(width[c], text(r.get(c)).length());
      }
    }
    StringBuilder line = new StringBuilder();
    for (int c = 0; c < width.length; c++) {
      line.append(String.format(Locale.ROOT, "%" + width[c] + "s  ", columns.get(c)));
    }
    out.println(line.toString().stripTrailing());
    for (List<Object> r : rows) {
      line.setLength(0);
      for (int c = 0; c < width.length; c++) {
        line.append(String.format(Locale.ROOT, "%" + width[c] + "s  ", text(r.get(c))));
      }
      out.println(line.toString().stripTrailing());
    }
  }

  public void writeCsv(Path file) {
    StringBuilder csv = new StringBuilder(String.join(",", columns)).append('\n');
    for (List<Object> r : rows) {
      List<String> cells = new ArrayList<>();
      for (Object v : r) {
        String t = text(v);
        cells.add(t.contains(",") || t.contains("\"") ? "\"" + t.replace("\"", "\"\"") + "\"" : t);
      }
      csv.append(String.join(",", cells)).append('\n');
    }
    writeAside(file, csv.toString());
  }

  public void writeJson(Path file) {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    root.set("meta", mapper.valueToTree(meta));
    ArrayNode list = root.putArray("rows");
    for (List<Object> r : rows) {
      ObjectNode o = list.addObject();
      for (int c = 0; c < columns.size(); c++) {
        o.set(columns.get(c), mapper.valueToTree(r.get(c)));
      }
    }
    try {
      writeAside(file, mapper.writeValueAsString(root) + "\n");
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise results", e);
    }
  }

  private static String text(Object v) {
    if (v instanceof Double d) {
      return String.format(Locale.ROOT, "%.3f", d);
    }
    if (v instanceof Float f) {
      return String.format(Locale.ROOT, "%.3f", f);
    }
    return String.valueOf(v);
  }

  private static void writeAside(Path file, String content) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
      try {
        Files.writeString(tmp, content);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
