package dev.shoal.runtime.codec.choice;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.TensorSpec;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.split.Split;
import dev.shoal.model.split.Stage;
import dev.shoal.runtime.codec.RawCodec;
import dev.shoal.runtime.codec.TensorCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Chooses a codec for every cut of a split: the fewest bytes per inference whose top-1 agreement
 * with the unsplit model stays at or above {@code 1 − maxAgreementDrop} on the given inputs.
 *
 * <p>How it searches. The split runs once raw and keeps every cut's tensors. At each cut every
 * candidate codec is sized (each input row encoded as its own request, as {@code shoal serve}
 * receives them) and the candidates are ordered by bytes. Per cut, greedily from fewest bytes up:
 * a lossless codec is taken at once; a lossy one is run alone at that cut (every other cut raw) and
 * taken if its agreement is within the bound — measuring stops as soon as the disagreements exceed
 * what the bound allows. Then the chosen codecs run together; while the joint agreement misses the
 * bound, the cut whose next costlier candidate adds the fewest bytes moves to it (a lossless codec
 * ends the walk at the latest), and the joint run repeats.
 */
public final class CodecChooser {

  /**
   * @param batch rows per ONNX Runtime call (speed only: codecs see one row at a time)
   * @param candidates codecs to try at each cut
   */
  public record Options(double maxAgreementDrop, int batch, List<TensorCodec> candidates) {
    public Options {
      if (!(maxAgreementDrop >= 0 && maxAgreementDrop <= 1)) {
        throw new IllegalArgumentException("the agreement drop must be within [0, 1], got " + maxAgreementDrop);
      }
      if (batch < 1) {
        throw new IllegalArgumentException("batch must be >= 1, got " + batch);
      }
      if (candidates.isEmpty()) {
        throw new IllegalArgumentException("no candidate codecs");
      }
      candidates = List.copyOf(candidates);
    }

    public static Options of(double maxAgreementDrop) {
      return new Options(maxAgreementDrop, 64, TensorCodec.all());
    }
  }

  private final Split split;
  private final Options options;
  private final Consumer<String> progress;
  private final List<OnnxSession> stages = new ArrayList<>();
  private final int inputs;
  private final int allowed;
  private final List<Map<String, TensorData>> batches = new ArrayList<>();
  private final int[] reference;
  /** cut k, batch b: the tensors stage k sends, computed raw. */
  private final List<List<Map<String, TensorData>>> cutTensors = new ArrayList<>();

  private CodecChooser(byte[] wholeModel, Split split, TensorData input, Options options, Consumer<String> progress) {
    this.split = split;
    this.options = options;
    this.progress = progress;
    if (split.stages().size() < 2) {
      throw new IllegalArgumentException("the split has one stage, so no cut to choose a codec for");
    }
    if (split.modelInputs().size() != 1) {
      throw new IllegalArgumentException("the model has inputs " + split.modelInputs()
          + "; choosing codecs takes models with one input");
    }
    try (OnnxSession whole = OnnxSession.open(wholeModel, OnnxSession.Options.DEFAULT)) {
      TensorSpec spec = whole.inputs().get(0);
      String name = spec.name();
      if (input.shape().length == 0 || input.shape()[0] < 1) {
        throw new IllegalArgumentException("inputs of shape " + Arrays.toString(input.shape())
            + ": need at least one row along the first axis");
      }
      int batch = spec.shape().length > 0 && spec.shape()[0] > 0 ? (int) spec.shape()[0] : options.batch();
      if (!spec.accepts(rows(input.withName(name), 0, Math.min(batch, (int) input.shape()[0])))) {
        throw new IllegalArgumentException("inputs " + input.dtype() + Arrays.toString(input.shape())
            + " do not fit model input '" + name + "' " + spec.dtype() + Arrays.toString(spec.shape())
            + " (-1: any size)");
      }
      this.inputs = (int) input.shape()[0];
      if (inputs % batch != 0 && spec.shape()[0] > 0) {
        throw new IllegalArgumentException(inputs + " inputs do not fill batches of the model's fixed batch size " + batch);
      }
      this.allowed = (int) Math.floor(options.maxAgreementDrop() * inputs + 1e-9);
      for (int from = 0; from < inputs; from += batch) {
        batches.add(Map.of(name, rows(input.withName(name), from, Math.min(inputs, from + batch))));
      }
      this.reference = new int[inputs];
      int at = 0;
      for (Map<String, TensorData> b : batches) {
        int[] top = top1(whole.run(b).values().iterator().next());
        System.arraycopy(top, 0, reference, at, top.length);
        at += top.length;
      }
    }
    try {
      for (Stage s : split.stages()) {
        stages.add(OnnxSession.open(s.model().toByteArray(), OnnxSession.Options.DEFAULT));
      }
      for (int k = 0; k < split.stages().size() - 1; k++) {
        cutTensors.add(new ArrayList<>());
      }
      for (Map<String, TensorData> b : batches) {
        Map<String, TensorData> carried = b;
        for (int k = 0; k < stages.size() - 1; k++) {
          carried = stages.get(k).run(carried);
          cutTensors.get(k).add(carried);
        }
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /**
   * Chooses every cut's codec for {@code split} of the model {@code wholeModel} on {@code input}
   * (rows along axis 0); {@code labels} (one integer per row) may be null.
   *
   * @throws IllegalArgumentException for inputs or labels that do not fit the model, with what is wrong
   */
  public static CodecPolicy choose(byte[] wholeModel, Split split, TensorData input, TensorData labels,
      Options options, Consumer<String> progress) {
    int[] truth = labels == null ? null : labels(labels, input);
    CodecChooser c = new CodecChooser(wholeModel, split, input, options, progress);
    try {
      return c.search(truth);
    } finally {
      c.close();
    }
  }

  private CodecPolicy search(int[] truth) {
    int cuts = cutTensors.size();
    List<List<Sized>> ordered = new ArrayList<>();
    long[] rawBytes = new long[cuts];
    for (int k = 0; k < cuts; k++) {
      rawBytes[k] = rawBytes(k);
      List<Sized> sized = new ArrayList<>();
      for (TensorCodec codec : options.candidates()) {
        sized.add(new Sized(codec, encodedBytes(k, codec)));
      }
      sized.sort(Comparator.comparingDouble(Sized::bytes));
      ordered.add(sized);
      progress.accept(String.format(Locale.ROOT, "cut %d (after position %d): %d raw bytes per inference, "
          + "%d codecs sized, fewest: %s %.0f", k, cutPosition(k), rawBytes[k], sized.size(), sized.get(0).codec().label(),
          sized.get(0).bytes()));
    }
    int[] choice = new int[cuts];
    List<List<CodecPolicy.Candidate>> tried = new ArrayList<>();
    for (int k = 0; k < cuts; k++) {
      List<CodecPolicy.Candidate> log = new ArrayList<>();
      int chosen = -1;
      for (int i = 0; i < ordered.get(k).size(); i++) {
        Sized s = ordered.get(k).get(i);
        if (chosen >= 0) {
          log.add(new CodecPolicy.Candidate(s.codec().label(), s.bytes(), null, "not tried"));
          continue;
        }
        if (s.codec().lossless()) {
          log.add(new CodecPolicy.Candidate(s.codec().label(), s.bytes(), null, "lossless"));
          chosen = i;
          continue;
        }
        TensorCodec[] alone = raw(cuts);
        alone[k] = s.codec();
        Run r = run(alone, allowed);
        boolean ok = r.complete() && r.disagreements() <= allowed;
        log.add(new CodecPolicy.Candidate(s.codec().label(), s.bytes(), r.complete() ? r.agreement(inputs) : null,
            ok ? "within bound" : "below bound"));
        progress.accept(String.format(Locale.ROOT, "cut %d: %-18s %10.0f bytes  %s", k, s.codec().label(),
            s.bytes(), r.complete() ? String.format(Locale.ROOT, "agreement %.4f", r.agreement(inputs))
                : "over " + allowed + " disagreements after " + r.seen() + " inputs"));
        if (ok) {
          chosen = i;
        }
      }
      choice[k] = chosen;
      tried.add(log);
    }
    Run joint;
    while (true) {
      TensorCodec[] codecs = new TensorCodec[cuts];
      for (int k = 0; k < cuts; k++) {
        codecs[k] = ordered.get(k).get(choice[k]).codec();
      }
      joint = run(codecs, Integer.MAX_VALUE);
      progress.accept(String.format(Locale.ROOT, "together %s: agreement %.4f",
          Arrays.stream(codecs).map(TensorCodec::label).toList(), joint.agreement(inputs)));
      if (joint.disagreements() <= allowed) {
        break;
      }
      int move = -1;
      double cheapest = Double.POSITIVE_INFINITY;
      for (int k = 0; k < cuts; k++) {
        List<Sized> list = ordered.get(k);
        if (!list.get(choice[k]).codec().lossless() && choice[k] + 1 < list.size()) {
          double more = list.get(choice[k] + 1).bytes() - list.get(choice[k]).bytes();
          if (more < cheapest) {
            cheapest = more;
            move = k;
          }
        }
      }
      if (move < 0) {
        throw new IllegalStateException("no codec assignment reaches the agreement bound, not even lossless "
            + "ones (does the split differ from the whole model?)");
      }
      choice[move]++;
    }
    List<CodecPolicy.Cut> out = new ArrayList<>();
    for (int k = 0; k < cuts; k++) {
      Sized s = ordered.get(k).get(choice[k]);
      out.add(new CodecPolicy.Cut(cutPosition(k), s.codec().label(), rawBytes[k], s.bytes(), tried.get(k)));
    }
    Double accuracy = truth == null ? null : accuracy(joint.top1(), truth);
    Double baseline = truth == null ? null : accuracy(reference, truth);
    return new CodecPolicy(out, joint.agreement(inputs), accuracy, baseline, inputs, options.maxAgreementDrop());
  }

  private int cutPosition(int k) {
    return split.stages().get(k).lastPosition();
  }

  private static TensorCodec[] raw(int cuts) {
    TensorCodec[] out = new TensorCodec[cuts];
    Arrays.fill(out, RawCodec.INSTANCE);
    return out;
  }

  private record Sized(TensorCodec codec, double bytes) {}

  /** Top-1 of the inputs seen (all of them when complete) and how many disagree with the whole model. */
  private record Run(int[] top1, int seen, int disagreements, boolean complete) {
    double agreement(int inputs) {
      return (inputs - disagreements) / (double) inputs;
    }
  }

  /** Runs the split with these cut codecs, stopping once more than {@code stopAbove} inputs disagree. */
  private Run run(TensorCodec[] codecs, int stopAbove) {
    int first = 0;
    while (first < codecs.length && codecs[first] instanceof RawCodec) {
      first++;
    }
    int[] top = new int[inputs];
    int seen = 0;
    int disagree = 0;
    for (int b = 0; b < batches.size(); b++) {
      Map<String, TensorData> carried = first == codecs.length ? null : cutTensors.get(first).get(b);
      int[] t;
      if (carried == null) {
        Map<String, TensorData> x = cutTensors.get(codecs.length - 1).get(b);
        t = top1(stages.get(stages.size() - 1).run(x).values().iterator().next());
      } else {
        for (int k = first; k < codecs.length; k++) {
          if (k > first) {
            carried = stages.get(k).run(carried);
          }
          carried = perRow(codecs[k], carried);
        }
        t = top1(stages.get(stages.size() - 1).run(carried).values().iterator().next());
      }
      for (int v : t) {
        top[seen] = v;
        if (v != reference[seen]) {
          disagree++;
        }
        seen++;
      }
      if (disagree > stopAbove) {
        return new Run(top, seen, disagree, seen == inputs);
      }
    }
    return new Run(top, seen, disagree, true);
  }

  /** Each row of each tensor through the codec on its own, as one request per input travels. */
  private static Map<String, TensorData> perRow(TensorCodec codec, Map<String, TensorData> tensors) {
    if (codec instanceof RawCodec) {
      return tensors;
    }
    Map<String, TensorData> out = new LinkedHashMap<>();
    for (TensorData t : tensors.values()) {
      int n = t.shape().length == 0 ? 1 : (int) t.shape()[0];
      if (n <= 1) {
        out.put(t.name(), codec.roundTrip(t));
        continue;
      }
      byte[] data = new byte[t.data().length];
      int row = t.data().length / n;
      for (int i = 0; i < n; i++) {
        TensorData back = codec.roundTrip(rows(t, i, i + 1));
        System.arraycopy(back.data(), 0, data, i * row, row);
      }
      out.put(t.name(), new TensorData(t.name(), t.dtype(), t.shape(), data));
    }
    return out;
  }

  private long rawBytes(int k) {
    long total = 0;
    for (TensorData t : cutTensors.get(k).get(0).values()) {
      total += t.data().length / Math.max(1, rowsOf(t));
    }
    return total;
  }

  private double encodedBytes(int k, TensorCodec codec) {
    long total = 0;
    for (Map<String, TensorData> b : cutTensors.get(k)) {
      for (TensorData t : b.values()) {
        int n = rowsOf(t);
        for (int i = 0; i < Math.max(1, n); i++) {
          total += codec.encode(n <= 1 ? t : rows(t, i, i + 1)).payload().length;
        }
      }
    }
    return total / (double) inputs;
  }

  private static int rowsOf(TensorData t) {
    return t.shape().length == 0 ? 1 : (int) t.shape()[0];
  }

  /** Rows {@code from..to-1} along axis 0. */
  static TensorData rows(TensorData t, int from, int to) {
    long[] shape = t.shape().clone();
    int row = (int) (t.data().length / shape[0]);
    shape[0] = to - from;
    return new TensorData(t.name(), t.dtype(), shape, Arrays.copyOfRange(t.data(), from * row, to * row));
  }

  /** Index of the largest value of each row of a {@code [rows, classes]} FLOAT output. */
  static int[] top1(TensorData out) {
    if (out.dtype() != DType.FLOAT || out.shape().length != 2) {
      throw new IllegalArgumentException("the model's first output '" + out.name() + "' is " + out.dtype()
          + Arrays.toString(out.shape()) + "; top-1 agreement needs FLOAT [rows, classes]");
    }
    int n = (int) out.shape()[0];
    int classes = (int) out.shape()[1];
    ByteBuffer v = ByteBuffer.wrap(out.data()).order(ByteOrder.LITTLE_ENDIAN);
    int[] top = new int[n];
    for (int i = 0; i < n; i++) {
      int best = 0;
      for (int c = 1; c < classes; c++) {
        if (v.getFloat((i * classes + c) * 4) > v.getFloat((i * classes + best) * 4)) {
          best = c;
        }
      }
      top[i] = best;
    }
    return top;
  }

  private static int[] labels(TensorData labels, TensorData input) {
    long n = input.shape().length == 0 ? 0 : input.shape()[0];
    if (labels.shape().length != 1 || labels.shape()[0] != n) {
      throw new IllegalArgumentException("labels of shape " + Arrays.toString(labels.shape()) + ": need one per input, ["
          + n + "]");
    }
    ByteBuffer b = ByteBuffer.wrap(labels.data()).order(ByteOrder.LITTLE_ENDIAN);
    int[] out = new int[(int) n];
    for (int i = 0; i < n; i++) {
      out[i] = switch (labels.dtype()) {
        case INT64 -> Math.toIntExact(b.getLong(i * 8));
        case INT32 -> b.getInt(i * 4);
        case UINT8 -> b.get(i) & 0xff;
        case INT8 -> b.get(i);
        default -> throw new IllegalArgumentException("labels are " + labels.dtype() + "; need integers (int64, int32, uint8)");
      };
    }
    return out;
  }

  private static double accuracy(int[] predicted, int[] truth) {
    int right = 0;
    for (int i = 0; i < truth.length; i++) {
      if (predicted[i] == truth[i]) {
        right++;
      }
    }
    return right / (double) truth.length;
  }

  private void close() {
    stages.forEach(OnnxSession::close);
  }
}
