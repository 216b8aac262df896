package dev.shoal.runtime.codec.choice;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * What {@link CodecChooser} chose: each cut's codec and bytes, and the top-1 agreement with the
 * unsplit model (and accuracy, when labels were given) of the split with every chosen codec applied.
 * Bytes are per inference (one input row as its own request), averaged over the inputs.
 *
 * @param baselineAccuracy the unsplit model's accuracy on the same inputs, or null without labels
 */
public record CodecPolicy(List<Cut> cuts, double agreement, Double accuracy, Double baselineAccuracy,
    int inputs, double maxAgreementDrop) {

  public CodecPolicy {
    cuts = List.copyOf(cuts);
  }

  /**
   * One cut.
   *
   * @param after the model position (node order) the cut follows
   * @param tried every candidate, fewest bytes first
   */
  public record Cut(int after, String codec, long rawBytes, double encodedBytes, List<Candidate> tried) {
    public Cut {
      tried = List.copyOf(tried);
    }
  }

  /**
   * One codec tried at one cut with every other cut raw.
   *
   * @param agreement its top-1 agreement alone at this cut, null where not measured to the end
   * @param verdict {@code lossless} (no need to measure), {@code within bound}, {@code below bound}
   *     (measuring stopped once the bound was out of reach), or {@code not tried} (a cheaper codec
   *     was within the bound)
   */
  public record Candidate(String codec, double encodedBytes, Double agreement, String verdict) {}

  /** Total bytes per inference over all cuts, raw and chosen. */
  public long rawBytes() {
    return cuts.stream().mapToLong(Cut::rawBytes).sum();
  }

  public double encodedBytes() {
    return cuts.stream().mapToDouble(Cut::encodedBytes).sum();
  }

  /** {@code policy.json}: {@code {"cuts":[{"after","codec","rawBytes","encodedBytes","tried"}],"agreement","accuracy",...}}. */
  public String toJson() {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    var list = root.putArray("cuts");
    for (Cut c : cuts) {
      ObjectNode o = list.addObject();
      o.put("after", c.after()).put("codec", c.codec()).put("rawBytes", c.rawBytes())
          .put("encodedBytes", Math.round(c.encodedBytes()));
      var tried = o.putArray("tried");
      for (Candidate k : c.tried()) {
        ObjectNode t = tried.addObject().put("codec", k.codec()).put("encodedBytes", Math.round(k.encodedBytes()));
        if (k.agreement() == null) {
          t.putNull("agreement");
        } else {
          t.put("agreement", k.agreement());
        }
        t.put("verdict", k.verdict());
      }
    }
    root.put("agreement", agreement);
    if (accuracy == null) {
      root.putNull("accuracy");
    } else {
      root.put("accuracy", accuracy);
    }
    if (baselineAccuracy == null) {
      root.putNull("baselineAccuracy");
    } else {
      root.put("baselineAccuracy", baselineAccuracy);
    }
    root.put("inputs", inputs).put("maxAgreementDrop", maxAgreementDrop);
    try {
      return mapper.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise the codec policy", e);
    }
  }
}
