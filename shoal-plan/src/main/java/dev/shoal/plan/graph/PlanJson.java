package dev.shoal.plan.graph;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;

/** A plan's JSON form, read and validated, or written. Fields are only ever added; readers ignore unknown ones. */
public final class PlanJson {

  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private PlanJson() {}

  public static String toJson(Plan plan) {
    try {
      return MAPPER.writeValueAsString(plan);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write plan '" + plan.name() + "' as JSON", e);
    }
  }

  /**
   * Reads and validates a plan.
   *
   * @throws PlanException when the text is not a plan, or the plan is not valid
   */
  public static Plan fromJson(String json, String where) {
    Plan plan;
    try {
      plan = MAPPER.readValue(json, Plan.class);
    } catch (JsonProcessingException e) {
      throw new PlanException(where + ": not a plan: " + e.getOriginalMessage());
    }
    try {
      return plan.validate();
    } catch (PlanException e) {
      throw new PlanException(where + ": " + e.getMessage());
    }
  }

  public static Plan read(Path file) throws IOException {
    return fromJson(java.nio.file.Files.readString(file), file.toString());
  }
}
