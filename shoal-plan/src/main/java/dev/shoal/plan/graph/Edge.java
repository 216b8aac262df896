package dev.shoal.plan.graph;

/**
 * A tensor travelling from a producer to a consumer through a codec ({@code raw}, {@code lz4},
 * {@code fp16}, ... as the runtime's codecs name them). The producer sends it straight to the
 * consumer's worker; the coordinator is only at the ends (request, response).
 */
public record Edge(Port from, Port to, String codec) {

  public Edge {
    codec = codec == null || codec.isBlank() ? "raw" : codec;
  }
}
