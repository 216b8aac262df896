package dev.shoal.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Reads and writes planner instances and plans as the JSON of DESIGN.md (same field names). */
public final class InstanceJson {

  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

  private InstanceJson() {}

  /**
   * @throws IllegalArgumentException with the file and the problem (bad JSON, missing or malformed
   *     field) in one line
   */
  public static Instance read(Path file) {
    Instance instance;
    try {
      instance = MAPPER.readValue(file.toFile(), Instance.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(file + ": " + e.getOriginalMessage() + " at " + location(e));
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read (" + e.getMessage() + ")");
    }
    try {
      new PipelineCost(instance);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage());
    }
    return instance;
  }

  private static String location(JsonProcessingException e) {
    var location = e.getLocation();
    return location == null ? "unknown position" : "line " + location.getLineNr() + ", column " + location.getColumnNr();
  }

  public static String toJson(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
    }
  }

  /** Writes an instance (or a plan) atomically: to a file beside the target, then moved over it. */
  public static void write(Object value, Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path temporary = Files.createTempFile(parent, file.getFileName().toString(), ".part");
    try {
      MAPPER.writerWithDefaultPrettyPrinter().writeValue(temporary.toFile(), value);
      Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }
}
