package dev.shoal.runtime.codec.choice;

import dev.shoal.model.TensorData;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.split.Split;
import dev.shoal.model.split.Stage;
import dev.shoal.runtime.codec.RawCodec;
import dev.shoal.runtime.codec.TensorCodec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link Split}'s stages in this process, sending every tensor that crosses a cut through
 * that cut's codec ({@link TensorCodec#roundTrip}: encode, then decode by the codec the encoding
 * reports, as a worker does), so a lossy split's effect shows offline. The inputs form one
 * request: each crossing tensor is encoded whole, batch and all, as the runtime encodes a request's
 * tensor. A split without cut codecs runs raw, equal to {@code StageChain}.
 */
public final class CodedStageChain implements AutoCloseable {
  private final Split split;
  private final List<TensorCodec> cutCodecs;
  private final List<OnnxSession> sessions = new ArrayList<>();

  private CodedStageChain(Split split, OnnxSession.Options options) {
    this.split = split;
    this.cutCodecs = codecs(split);
    try {
      for (Stage s : split.stages()) {
        sessions.add(OnnxSession.open(s.model().toByteArray(), options));
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  public static CodedStageChain open(Split split, OnnxSession.Options options) {
    return new CodedStageChain(split, options);
  }

  /**
   * The codec of each cut of {@code split}, raw where it names none.
   *
   * @throws IllegalArgumentException naming the cut whose codec does not parse
   */
  public static List<TensorCodec> codecs(Split split) {
    List<TensorCodec> out = new ArrayList<>();
    for (int i = 0; i < split.stages().size() - 1; i++) {
      if (split.cutCodecs().isEmpty()) {
        out.add(RawCodec.INSTANCE);
        continue;
      }
      try {
        out.add(TensorCodec.parse(split.cutCodecs().get(i)));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("cut after stage " + i + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  public List<TensorCodec> cutCodecs() {
    return cutCodecs;
  }

  /** Runs every stage on {@code inputs} (by model input name); returns the model outputs in order. */
  public Map<String, TensorData> run(Map<String, TensorData> inputs) {
    Map<String, TensorData> carried = new LinkedHashMap<>();
    for (String name : split.stages().get(0).inputs()) {
      carried.put(name, inputs.get(name));
    }
    for (int s = 0; s < sessions.size(); s++) {
      Map<String, TensorData> out = sessions.get(s).run(carried);
      carried = new LinkedHashMap<>();
      for (Map.Entry<String, TensorData> e : out.entrySet()) {
        carried.put(e.getKey(), s < cutCodecs.size() ? cutCodecs.get(s).roundTrip(e.getValue()) : e.getValue());
      }
    }
    Map<String, TensorData> outputs = new LinkedHashMap<>();
    for (String name : split.modelOutputs()) {
      outputs.put(name, carried.get(name));
    }
    return outputs;
  }

  @Override
  public void close() {
    sessions.forEach(OnnxSession::close);
  }
}
