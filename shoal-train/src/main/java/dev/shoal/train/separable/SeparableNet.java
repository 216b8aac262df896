package dev.shoal.train.separable;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.shoal.train.nn.ExportableBlock;
import dev.shoal.train.nn.OnnxExport;
import dev.shoal.train.train.TrainingSession;
import java.util.ArrayList;
import java.util.List;

/**
 * The separable network of a {@link SeparableArchitecture}, trained as one DJL block: all groups
 * side by side in one tensor ({@code [N, groups x channels, H, W]}, group g owning a contiguous
 * channel slice), grouped convolutions keeping the groups apart, and after each block the
 * exchange the current {@link TransmissionPolicy} asks for. The policy can change from batch to
 * batch (supernet training) without touching the weights.
 *
 * <p>Merge: the receiver averages the chunk into its own first channels. An average has no
 * weights, so one set of weights serves every policy, and it keeps the activations' scale whether
 * a point exchanges or not. The classifier is split like the rest: each device pools its own
 * channels and computes partial logits with its columns of the weight matrix; the logits are their
 * sum (the bias is added once, by device 0), so only {@code classes} floats per device leave for
 * the answer.
 */
public final class SeparableNet extends ExportableBlock {

  private final SeparableArchitecture arch;
  private final SlicedConvBn stem;
  private final List<SeparableBottleneck> blocks = new ArrayList<>();
  private final Linear classifier;
  private TransmissionPolicy policy;

  public SeparableNet(SeparableArchitecture arch) {
    this.arch = arch;
    this.stem = addChildBlock("stem", new SlicedConvBn(arch.stemChannels(), 3, arch.stemStride(), 1, true));
    for (int i = 0; i < arch.blocks().size(); i++) {
      int inputGroups = i == 0 ? 1 : arch.groups();
      blocks.add(
          addChildBlock(
              "block" + (i + 1),
              new SeparableBottleneck(arch.blocks().get(i), arch.cardinality(), inputGroups, arch.groups())));
    }
    this.classifier = addChildBlock("classifier", Linear.builder().setUnits(arch.classes()).build());
    this.policy = arch.groups() > 1 ? TransmissionPolicy.baseline(arch) : null;
  }

  public SeparableArchitecture architecture() {
    return arch;
  }

  /** The policy the next forward passes follow. */
  public void usePolicy(TransmissionPolicy policy) {
    if (arch.groups() == 1) {
      throw new IllegalStateException("the non-separable network has no exchange points");
    }
    this.policy = policy.checkFits(arch);
  }

  public TransmissionPolicy policy() {
    return policy;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    TransmissionPolicy p = policy;
    NDList x = stem.forward(ps, inputs, training, params);
    for (int i = 0; i < blocks.size(); i++) {
      x = blocks.get(i).forward(ps, x, training, params);
      if (p != null && i < arch.exchangePoints()) {
        x = new NDList(exchange(p.points().get(i), x.singletonOrThrow()));
      }
    }
    NDArray features = x.singletonOrThrow();
    NDArray pooled = Pool.globalAvgPool2d(features).reshape(features.getShape().get(0), features.getShape().get(1));
    return classifier.forward(ps, new NDList(pooled), training, params);
  }

  /** Each device averages the chunk it receives into its own first channels. */
  private NDArray exchange(ExchangePoint point, NDArray x) {
    if (!point.exchange()) {
      return x;
    }
    int c = (int) x.getShape().get(1) / arch.groups();
    int k = point.channels(c);
    int[] from = point.receiveFrom();
    NDList pieces = new NDList();
    for (int r = 0; r < arch.groups(); r++) {
      NDArray own = x.get(new NDIndex(":, {}:{}", r * c, r * c + k));
      NDArray chunk = point.codec().fakeQuantise(x.get(new NDIndex(":, {}:{}", from[r] * c, from[r] * c + k)));
      pieces.add(own.add(chunk).mul(0.5f));
      if (k < c) {
        pieces.add(x.get(new NDIndex(":, {}:{}", r * c + k, (r + 1) * c)));
      }
    }
    return NDArrays.concat(pieces, 1);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    return new Shape[] {new Shape(inputs[0].get(0), arch.classes())};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    stem.initialize(manager, dataType, inputShapes);
    Shape[] s = stem.getOutputShapes(inputShapes);
    for (SeparableBottleneck b : blocks) {
      b.initialize(manager, dataType, s);
      s = b.getOutputShapes(s);
    }
    classifier.initialize(manager, dataType, new Shape(s[0].get(0), s[0].get(1)));
  }

  /** The stem, which every device runs on the whole image. */
  String exportStem(OnnxExport out, String image) {
    return stem.export(out, image, 0, 1);
  }

  /** Device {@code part}'s slice of block {@code index} (0-based). */
  String exportBlock(OnnxExport out, int index, int part, String input) {
    return blocks.get(index).export(out, input, part, arch.groups());
  }

  /** Device {@code part}'s partial logits from its last feature map. */
  String exportPartialLogits(OnnxExport out, int part, String features) {
    float[] w = classifier.getParameters().get("weight").getArray().toFloatArray();
    float[] b = classifier.getParameters().get("bias").getArray().toFloatArray();
    int width = w.length / arch.classes();
    int slice = width / arch.groups();
    float[] mine = new float[arch.classes() * slice];
    for (int o = 0; o < arch.classes(); o++) {
      System.arraycopy(w, o * width + part * slice, mine, o * slice, slice);
    }
    String pooled = out.graph().node("GlobalAveragePool", features).out();
    String flat = out.graph().node("Flatten", pooled).attr("axis", 1L).out();
    String weight = out.weight("fc_w", mine, arch.classes(), slice);
    return (part == 0
            ? out.graph().node("Gemm", flat, weight, out.weight("fc_b", b, arch.classes()))
            : out.graph().node("Gemm", flat, weight))
        .attr("transB", 1L)
        .out();
  }

  /** The first {@code k} channels of a device's feature map: the chunk it sends. */
  static String exportChunk(OnnxExport out, String features, int k) {
    return slice(out, features, 0, k);
  }

  /** The device's feature map with {@code received} averaged into its first channels. */
  static String exportMerge(OnnxExport out, String features, String received, int k, int channels) {
    String head = slice(out, features, 0, k);
    String merged =
        out.graph()
            .node("Mul", out.graph().node("Add", head, received).out(), out.weight("half", new float[] {0.5f}))
            .out();
    return k == channels
        ? merged
        : out.graph().node("Concat", merged, slice(out, features, k, channels)).attr("axis", 1L).out();
  }

  private static String slice(OnnxExport out, String x, int from, int to) {
    return out.graph()
        .node(
            "Slice",
            x,
            out.int64("starts", new long[] {from}, 1),
            out.int64("ends", new long[] {to}, 1),
            out.int64("axes", new long[] {1}, 1))
        .out();
  }

  /**
   * The whole network in one graph under the current policy, every exchange exact (codecs are
   * applied on the links by whoever moves the chunks, not in this graph).
   */
  @Override
  public String export(OnnxExport out, String input) {
    String stemOut = exportStem(out, input);
    int groups = arch.groups();
    String[] x = new String[groups];
    for (int g = 0; g < groups; g++) {
      x[g] = stemOut;
    }
    for (int i = 0; i < blocks.size(); i++) {
      for (int g = 0; g < groups; g++) {
        x[g] = exportBlock(out, i, g, x[g]);
      }
      if (policy != null && i < arch.exchangePoints() && policy.points().get(i).exchange()) {
        ExchangePoint p = policy.points().get(i);
        int c = arch.blockOutput(i).channels();
        int k = p.channels(c);
        String[] chunks = new String[groups];
        for (int g = 0; g < groups; g++) {
          chunks[g] = exportChunk(out, x[g], k);
        }
        int[] from = p.receiveFrom();
        for (int g = 0; g < groups; g++) {
          x[g] = exportMerge(out, x[g], chunks[from[g]], k, c);
        }
      }
    }
    String[] partial = new String[groups];
    for (int g = 0; g < groups; g++) {
      partial[g] = exportPartialLogits(out, g, x[g]);
    }
    return groups == 1 ? partial[0] : out.graph().node("Sum", partial).out();
  }

  @Override
  public long macs(Shape input) {
    Shape s = stem.getOutputShapes(new Shape[] {input})[0];
    long total = stem.macs(input);
    for (SeparableBottleneck b : blocks) {
      total += b.macs(s);
      s = b.getOutputShapes(new Shape[] {s})[0];
    }
    return total + s.get(1) * arch.classes();
  }

  /**
   * Multiply-accumulates one device runs per image for blocks {@code first..last} (0-based), with
   * the stem when {@code first} is 0 and the classifier when {@code last} is the last block.
   */
  public long segmentMacsPerDevice(Shape input, int first, int last) {
    Shape s = stem.getOutputShapes(new Shape[] {input})[0];
    long total = first == 0 ? stem.macs(input) * arch.groups() : 0;
    for (int i = 0; i < blocks.size(); i++) {
      if (i >= first && i <= last) {
        total += blocks.get(i).macs(s);
      }
      s = blocks.get(i).getOutputShapes(new Shape[] {s})[0];
    }
    if (last == blocks.size() - 1) {
      total += s.get(1) * arch.classes();
    }
    return total / arch.groups();
  }

  /**
   * Multiply-accumulates one device runs per image: the whole stem, plus its share of everything
   * else.
   */
  public long macsPerDevice(Shape input) {
    long stemMacs = stem.macs(input);
    return stemMacs + (macs(input) - stemMacs) / arch.groups();
  }

  /**
   * Trained parameters one device holds: the stem, which every device runs whole, and its share of
   * the rest (each device's slice of every block and its columns of the classifier; the classifier's
   * bias, on device 0 only, counted as shared).
   */
  public long parametersPerDevice() {
    long stemParameters = TrainingSession.parameterCount(stem);
    return stemParameters + (TrainingSession.parameterCount(this) - stemParameters) / arch.groups();
  }
}
