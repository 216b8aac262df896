package dev.shoal.plan.graph;

/**
 * An edge between peers in the middle of a width-split network: a chunk one chain sends to
 * another at a chosen layer ({@code point} says which), mixed in by the receiving stage. The
 * runtime carries it exactly like an {@link Edge}, peer to peer; it is listed apart so that a plan
 * says where its chains talk to each other.
 */
public record Exchange(Port from, Port to, String codec, String point) {

  public Exchange {
    codec = codec == null || codec.isBlank() ? "raw" : codec;
    point = point == null ? "" : point;
  }

  Edge asEdge() {
    return new Edge(from, to, codec);
  }
}
